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
    /// Set when SIGINT or SIGTERM ended a blocking read: the input stops there.
    public private(set) var interrupted = false

    /// The name standard input goes by in messages and reports.
    public static let standardInputName = "stdin"

    public init(path: String) throws(InputError) {
        if path == "-" {
            self.path = ByteInput.standardInputName
            // A duplicate: the stream closes what it was given, standard input stays open for the process.
            let fd = dup(STDIN_FILENO)
            guard fd >= 0 else {
                throw InputError("cannot read standard input: \(String(cString: strerror(errno)))", at: .file(ByteInput.standardInputName))
            }
            var st = stat()
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, let f = gzdopen(fd, "rb") {
                gzbuffer(f, 256 * 1024)
                file = f
            } else {
                stream = StreamInput(fd: fd, path: ByteInput.standardInputName)
            }
            return
        }
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw InputError("no such file", at: .file(path)) }
        guard !isDirectory.boolValue else { throw InputError("is a directory, not a trace file", at: .file(path)) }
        guard FileManager.default.isReadableFile(atPath: path) else { throw InputError("permission denied", at: .file(path)) }
        // Pipes, FIFOs, /dev/stdin, process substitution: read as a stream, records as they arrive.
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw InputError("cannot open the file: \(String(cString: strerror(errno)))", at: .file(path)) }
            stream = StreamInput(fd: fd, path: path)
            return
        }
        guard let f = gzopen(path, "rb") else { throw InputError("cannot open the file: \(String(cString: strerror(errno)))", at: .file(path)) }
        gzbuffer(f, 256 * 1024)
        file = f
    }

    /// Bytes already in memory, read as a file named `name` would be (not gzip-decoded): for tests, fuzz targets
    /// and datagrams.
    public init(bytes: [UInt8], name: String) {
        path = name
        file = nil
        pending = bytes
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

    /// A pipe or terminal, read as bytes arrive (zlib's own reader would wait for whole buffers).
    private var stream: StreamInput?

    /// Whether this input is a stream (a pipe) rather than a file: a stream's next read may wait for the writer.
    public var isStream: Bool { stream != nil }

    /// At the end of the input (nothing pending, the file or stream ended).
    public private(set) var atEnd = false

    /// Stream inputs: reads once more (waiting for the writer) unless `count` bytes are already here or the input
    /// ended, and returns up to `count` bytes still to come, without consuming them. Files: as `peek`.
    public func peekMore(_ count: Int) throws(InputError) -> [UInt8] {
        guard stream != nil else { return try peek(count) }
        if pending.count - head < count && !atEnd {
            let chunk = try readFromFile(count - (pending.count - head))
            if chunk.isEmpty { atEnd = true } else { pending += chunk }
        }
        return Array(pending[head..<min(pending.count, head + count)])
    }

    private func readFromFile(_ max: Int) throws(InputError) -> [UInt8] {
        if let s = stream {
            let out = try s.read(max, offset: offset + pending.count - head)
            if s.interrupted { interrupted = true }
            if s.truncated { truncated = true }
            return out
        }
        guard let f = file, max > 0 else { return [] }
        var buf = [UInt8](repeating: 0, count: max)
        var n: Int32 = 0
        while true {
            n = buf.withUnsafeMutableBytes { p -> Int32 in
                guard let base = p.baseAddress else { return 0 }
                return gzread(f, base, UInt32(p.count))
            }
            // A signal during a blocking read (a pipe waiting for data): the end of the input when it asks the run
            // to stop (what was read so far is reported), otherwise the read is tried again.
            guard n < 0, errno == EINTR else { break }
            if Interruption.requested { interrupted = true; return [] }
            gzclearerr(f)
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
        stream?.close()
        stream = nil
    }
}

/// A pipe or terminal: each read returns what has arrived (waiting in steps of 200 ms, so that SIGINT or SIGTERM
/// ends the input even when its signal is taken by another thread). Gzip, recognised by its magic bytes (RFC 1952),
/// is inflated as it comes, concatenated members included.
final class StreamInput {
    let path: String
    private var fd: Int32
    private var decided = false
    private var undecided: [UInt8] = []
    private var z: UnsafeMutablePointer<z_stream>?
    private var zInput: [UInt8] = []
    private var zEnded = false
    private(set) var interrupted = false
    private(set) var truncated = false

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close() }

    func close() {
        if let z { inflateEnd(z); z.deallocate(); self.z = nil }
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// Up to `max` bytes; empty at the end (or when a signal asked the run to stop).
    func read(_ max: Int, offset: Int) throws(InputError) -> [UInt8] {
        guard max > 0 else { return [] }
        while true {
            if z != nil, !zInput.isEmpty {
                let out = try inflate(max, offset: offset)
                if !out.isEmpty { return out }
            }
            let raw = try readRaw(offset: offset)
            if raw.isEmpty {
                if z != nil, !zEnded || !zInput.isEmpty { truncated = !interrupted }
                if !decided { decided = true; return undecided }
                return []
            }
            if decided {
                if z == nil { return raw }
                zInput += raw
                continue
            }
            // The first bytes tell gzip from text: two are needed.
            undecided += raw
            guard undecided.count >= 2 else { continue }
            decided = true
            if undecided[0] == 0x1F && undecided[1] == 0x8B {
                let p = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
                p.initialize(to: z_stream())
                // 16 + MAX_WBITS: a gzip header and trailer around the deflate data (zlib manual, inflateInit2).
                guard inflateInit2_(p, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                    p.deallocate()
                    throw InputError("cannot start gzip decompression", at: .file(path))
                }
                z = p
                zInput = undecided
                undecided = []
                continue
            }
            let out = undecided
            undecided = []
            return out
        }
    }

    private func readRaw(offset: Int) throws(InputError) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if Interruption.requested { interrupted = true; return [] }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 200)
            if ready == 0 { continue }
            if ready < 0 && errno == EINTR { continue }
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n < 0 { throw InputError("read error: \(String(cString: strerror(errno)))", at: .byteOffset(source: path, offset: offset)) }
            buf.removeLast(buf.count - n)
            return buf
        }
    }

    private func inflate(_ max: Int, offset: Int) throws(InputError) -> [UInt8] {
        guard let z else { return [] }
        if zEnded {
            // Another gzip member follows (concatenated files, as `cat a.gz b.gz`).
            guard zInput.first == 0x1F else { zInput = []; return [] }
            inflateReset(z)
            zEnded = false
        }
        var out = [UInt8](repeating: 0, count: Swift.max(max, 1))
        var produced = 0
        var consumed = 0
        var status: Int32 = Z_OK
        zInput.withUnsafeMutableBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                z.pointee.next_in = input.baseAddress
                z.pointee.avail_in = UInt32(input.count)
                z.pointee.next_out = output.baseAddress
                z.pointee.avail_out = UInt32(output.count)
                status = Traces.inflateCall(z)
                consumed = input.count - Int(z.pointee.avail_in)
                produced = output.count - Int(z.pointee.avail_out)
            }
        }
        zInput.removeFirst(consumed)
        if status == Z_STREAM_END { zEnded = true }
        if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
            throw InputError("damaged gzip data: \(z.pointee.msg.map { String(cString: $0) } ?? "inflate error \(status)")",
                             at: .byteOffset(source: path, offset: offset + produced))
        }
        out.removeLast(out.count - produced)
        return out
    }
}

/// zlib's inflate, named apart from `StreamInput.inflate`.
@inline(__always) func inflateCall(_ z: UnsafeMutablePointer<z_stream>) -> Int32 { CZlib.inflate(z, Z_NO_FLUSH) }

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
