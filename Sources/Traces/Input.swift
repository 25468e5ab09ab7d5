import CZlib
import Foundation
import HarnessCore

/// A file read in chunks, gzip-compressed or not (zlib reads plain files through the same calls), so traces of
/// any size stream in constant memory. `-` is standard input; pipes, `/dev/stdin` and process substitution
/// (`<(zcat …)`) are read once, as a stream: the first bytes a format is recognised by are kept and handed on
/// (`peek`), never read twice.
public final class ByteInput {
    public let path: String
    private var file: gzFile?
    /// The buffer of bytes read ahead (peeked, or read in chunks); `head` is where the next delivery starts.
    private var pending: [UInt8] = []
    /// Bytes delivered so far (offsets in the uncompressed stream).
    public private(set) var offset = 0
    /// Set at the end of a gzip stream that stops before its trailer (a file cut short).
    public private(set) var truncated = false

    /// The name standard input goes by in messages and reports.
    public static let standardInputName = "stdin"

    public init(path: String) throws(InputError) {
        if path == "-" {
            self.path = ByteInput.standardInputName
            // A duplicate: zlib closes what it was given, standard input stays open for the process.
            let fd = dup(STDIN_FILENO)
            guard fd >= 0, let f = gzdopen(fd, "rb") else {
                throw InputError("cannot read standard input: \(String(cString: strerror(errno)))", at: .file(ByteInput.standardInputName))
            }
            gzbuffer(f, 256 * 1024)
            file = f
            return
        }
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw InputError("no such file", at: .file(path)) }
        guard !isDirectory.boolValue else { throw InputError("is a directory, not a trace file", at: .file(path)) }
        guard FileManager.default.isReadableFile(atPath: path) else { throw InputError("permission denied", at: .file(path)) }
        guard let f = gzopen(path, "rb") else { throw InputError("cannot open the file: \(String(cString: strerror(errno)))", at: .file(path)) }
        gzbuffer(f, 256 * 1024)
        file = f
    }

    deinit { close() }

    /// The first `count` bytes still to come (fewer at the end), without consuming them: the next reads return
    /// them again. Works on pipes, which cannot be read twice.
    public func peek(_ count: Int) throws(InputError) -> [UInt8] {
        try fill(count)
        return Array(pending[head..<min(pending.count, head + count)])
    }

    /// Up to `max` bytes; empty at the end. A damaged gzip stream is an error naming the offset.
    public func read(_ max: Int) throws(InputError) -> [UInt8] {
        guard max > 0 else { return [] }
        if pending.count == head { try fill(1) }
        let n = min(max, pending.count - head)
        let out = Array(pending[head..<(head + n)])
        head += n
        offset += n
        return out
    }

    /// Exactly `n` bytes, or fewer at the end of the file.
    public func readExactly(_ n: Int) throws(InputError) -> [UInt8] { Array(try readSlice(n)) }

    /// Exactly `n` bytes (fewer at the end of the file) as a view of the input's buffer, without a copy: valid until
    /// the next read (the records of a capture are looked at one at a time).
    public func readSlice(_ n: Int) throws(InputError) -> ArraySlice<UInt8> {
        guard n > 0 else { return [] }
        try fill(n)
        let k = min(n, pending.count - head)
        let out = pending[head..<(head + k)]
        head += k
        offset += k
        return out
    }

    /// Bytes read from the file and not yet delivered: `pending[head...]`.
    private var head = 0

    /// Reads from the file until `n` bytes are buffered or the file ends; the buffer is compacted first.
    private func fill(_ n: Int) throws(InputError) {
        guard pending.count - head < n else { return }
        if head > 0 {
            pending.removeSubrange(0..<head)
            head = 0
        }
        while pending.count < n {
            // Chunks of 256 KiB, or what a long record still needs (callers bound lengths that come from the data).
            let chunk = try readFromFile(max(256 * 1024, n - pending.count))
            if chunk.isEmpty { break }
            pending += chunk
        }
    }

    private func readFromFile(_ max: Int) throws(InputError) -> [UInt8] {
        guard let f = file, max > 0 else { return [] }
        var buf = [UInt8](repeating: 0, count: max)
        let n = buf.withUnsafeMutableBytes { p -> Int32 in
            guard let base = p.baseAddress else { return 0 }
            return gzread(f, base, UInt32(p.count))
        }
        if n < 0 {
            var code: Int32 = 0
            var message = gzerror(f, &code).map { String(cString: $0) } ?? "read error"
            // zlib puts the path in front of its message: the location already names the file.
            if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }
            let at = offset + pending.count - head
            if code == Z_ERRNO {
                throw InputError("read error: \(String(cString: strerror(errno)))", at: .byteOffset(source: path, offset: at))
            }
            throw InputError("damaged gzip data: \(message)", at: .byteOffset(source: path, offset: at))
        }
        if Int(n) < max {
            // The end: a gzip stream without its trailer reads to here and then reports Z_BUF_ERROR.
            var code: Int32 = 0
            _ = gzerror(f, &code)
            if code == Z_BUF_ERROR { truncated = true }
        }
        if Int(n) < max { buf.removeLast(max - Int(n)) }
        return buf
    }

    public func close() {
        if let f = file { gzclose(f); file = nil }
    }
}

/// Lines of a text file (gzip or not), with their numbers; CR LF and LF both end a line.
public final class LineInput {
    private let input: ByteInput
    private var buffer: [UInt8] = []
    private var position = 0
    private var finished = false
    public private(set) var lineNumber = 0
    public var path: String { input.path }
    /// The gzip stream ended before its trailer; `offset` is where.
    public var truncated: Bool { input.truncated }
    public var offset: Int { input.offset }

    public convenience init(path: String) throws(InputError) { self.init(input: try ByteInput(path: path)) }
    /// Lines of an input already opened (and perhaps peeked at).
    public init(input: ByteInput) { self.input = input }

    /// The next line (without its terminator), or nil at the end.
    public func next() throws(InputError) -> ArraySlice<UInt8>? {
        while true {
            if let nl = newline(from: position) {
                var end = nl
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                let line = buffer[position..<end]
                position = nl + 1
                lineNumber += 1
                return line
            }
            if finished {
                guard position < buffer.count else { return nil }
                let line = buffer[position...]
                position = buffer.count
                lineNumber += 1
                return line
            }
            // Keep the unfinished line, read more.
            if position > 0 {
                buffer.removeFirst(position)
                position = 0
            }
            let chunk = try input.read(256 * 1024)
            if chunk.isEmpty { finished = true } else { buffer += chunk }
        }
    }

    /// The index of the next LF at or after `from` (memchr: lines are long, most of the time goes to finding ends).
    private func newline(from: Int) -> Int? {
        buffer.withUnsafeBufferPointer { b -> Int? in
            guard from < b.count, let base = b.baseAddress, let hit = memchr(base + from, 0x0A, b.count - from) else { return nil }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

}
