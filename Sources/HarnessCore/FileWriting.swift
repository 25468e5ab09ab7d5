import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing a file so that an interrupted or failed write never leaves a truncated file under the final name:
/// the bytes go to a temporary file in the same directory, are flushed to disk, and the temporary file is renamed
/// into place (POSIX rename is atomic within a file system); until then a previous file of that name is untouched.
/// A target that exists and is not a regular file (a device such as /dev/stdout or /dev/full, a FIFO) is written
/// directly. Every short or failed write is an error naming the file: a full disk is never taken for success.
/// The temporary file is registered with `Interruption`, which removes it when a signal ends the process.
public final class AtomicFile {
    public let path: String
    private var fd: Int32 = -1
    private var temporary: String?
    private var slot: Int32 = -1
    private var mode: mode_t = 0o644
    private var buffer: [UInt8] = []
    private var failure: InputError?
    private var finished = false

    /// Opens `path` for writing. `keepingContents`: the new file starts as a copy of the existing one (appending
    /// to a capture), so that the existing file is still whole if the run stops.
    public init(path: String, keepingContents: Bool = false) throws(InputError) {
        self.path = path
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && (st.st_mode & S_IFMT) != S_IFREG {
            fd = open(path, O_WRONLY | O_CLOEXEC | (keepingContents ? O_APPEND : 0))
            guard fd >= 0 else { throw InputError("cannot open for writing: \(String(cString: strerror(errno)))", at: .file(path)) }
            return
        }
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        // mkstemp's template: six placeholder letters it replaces with a unique name.
        var template = Array(((dir.isEmpty ? "." : dir) + "/." + base + ".tmp-" + String(repeating: "X", count: 6)).utf8CString)
        // Made and registered for removal with the signals blocked: a signal in between would leave it behind.
        var registered: Int32 = -1
        fd = template.withUnsafeMutableBufferPointer { b -> Int32 in
            guard let p = b.baseAddress else { return -1 }
            return Interruption.createTemporary(p, slot: &registered)
        }
        guard fd >= 0 else { throw InputError("cannot write in its directory: \(String(cString: strerror(errno)))", at: .file(path)) }
        let tmp = template.withUnsafeBufferPointer { b in b.baseAddress.map { String(cString: $0) } ?? "" }
        temporary = tmp
        slot = registered
        // A new file gets the usual mode (0666 less the umask), as a plain create would; an existing one keeps its own.
        if exists { mode = st.st_mode & 0o7777 } else {
            let mask = umask(0)
            umask(mask)
            mode = 0o666 & ~mask
        }
        if keepingContents && exists {
            let src = open(path, O_RDONLY | O_CLOEXEC)
            guard src >= 0 else { abandon(); throw InputError("cannot read the existing file: \(String(cString: strerror(errno)))", at: .file(path)) }
            defer { close(src) }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(src, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { abandon(); throw InputError("cannot read the existing file: \(String(cString: strerror(errno)))", at: .file(path)) }
                if n == 0 { break }
                do throws(InputError) { try writeAll(Array(chunk.prefix(n))) } catch { abandon(); throw error }
            }
        }
    }

    deinit { if !finished { abandon() } }

    /// Buffers `bytes`; written out in chunks. The first failure is kept and thrown by `write` and `commit`.
    public func write(_ bytes: [UInt8]) throws(InputError) {
        if let failure { throw failure }
        buffer += bytes
        if buffer.count >= 1 << 16 { try flush() }
    }

    public func write(_ text: String) throws(InputError) { try write(Array(text.utf8)) }

    public func flush() throws(InputError) {
        if let failure { throw failure }
        guard !buffer.isEmpty else { return }
        let b = buffer
        buffer.removeAll(keepingCapacity: true)
        do throws(InputError) { try writeAll(b) } catch { failure = error; throw error }
    }

    /// Flushes to disk and renames the file into place. After a failure the temporary file is removed, the
    /// previous file of that name is untouched, and the error names the file.
    public func commit() throws(InputError) {
        guard !finished else { return }
        do throws(InputError) {
            try flush()
            if let tmp = temporary {
                guard fsync(fd) == 0 else { throw InputError("cannot write the file: \(String(cString: strerror(errno)))", at: .file(path)) }
                fchmod(fd, mode)
                close(fd); fd = -1
                guard rename(tmp, path) == 0 else { throw InputError("cannot write the file: \(String(cString: strerror(errno)))", at: .file(path)) }
                Interruption.unregister(slot)
                temporary = nil
            } else {
                close(fd); fd = -1
            }
            finished = true
        } catch {
            abandon()
            throw error
        }
    }

    /// Gives up: the temporary file is removed, nothing is renamed.
    public func abandon() {
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        if let tmp = temporary { unlink(tmp); Interruption.unregister(slot); temporary = nil }
    }

    private func writeAll(_ bytes: [UInt8]) throws(InputError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { b -> Int in
                guard let base = b.baseAddress else { return 0 }
                return Glibc.write(fd, base + written, b.count - written)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw InputError("cannot write the file: \(String(cString: strerror(n < 0 ? errno : ENOSPC)))", at: .file(path))
            }
            written += n
        }
    }
}

/// Whole files at once, through `AtomicFile`.
public enum FileWriting {
    public static func write(_ bytes: [UInt8], to path: String) throws(InputError) {
        let f = try AtomicFile(path: path)
        try f.write(bytes)
        try f.commit()
    }

    public static func write(_ text: String, to path: String) throws(InputError) { try write(Array(text.utf8), to: path) }
}
