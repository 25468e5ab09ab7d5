import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing a whole file so that an interrupted or failed write never leaves a truncated file under the final name:
/// the bytes go to a temporary file in the same directory, are flushed to disk, and the temporary file is renamed
/// into place (POSIX rename is atomic within a file system). A target that exists and is not a regular file (a
/// device such as /dev/stdout or /dev/full, a FIFO) is written directly, and every short or failed write is an
/// error: a full disk is never taken for success.
public enum FileWriting {
    public static func write(_ bytes: [UInt8], to path: String) throws(InputError) {
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && (st.st_mode & S_IFMT) != S_IFREG {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw InputError("cannot open for writing: \(String(cString: strerror(errno)))", at: .file(path)) }
            defer { close(fd) }
            try writeAll(fd, bytes, path: path)
            return
        }
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        // mkstemp's template: six placeholder letters it replaces with a unique name.
        var template = Array(((dir.isEmpty ? "." : dir) + "/." + base + ".tmp-" + String(repeating: "X", count: 6)).utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { b -> Int32 in
            guard let p = b.baseAddress else { return -1 }
            return mkstemp(p)
        }
        guard fd >= 0 else { throw InputError("cannot write in its directory: \(String(cString: strerror(errno)))", at: .file(path)) }
        let tmp = template.withUnsafeBufferPointer { b in b.baseAddress.map { String(cString: $0) } ?? "" }
        var done = false
        defer { if !done { unlink(tmp) } }
        do throws(InputError) {
            try writeAll(fd, bytes, path: path)
            guard fsync(fd) == 0 else { throw InputError("cannot write the file: \(String(cString: strerror(errno)))", at: .file(path)) }
        } catch {
            close(fd)
            throw error
        }
        // A new file gets the usual mode (0666 less the umask), as a plain create would; an existing one keeps its own.
        let mode: mode_t
        if exists { mode = st.st_mode & 0o7777 } else {
            let mask = umask(0)
            umask(mask)
            mode = 0o666 & ~mask
        }
        fchmod(fd, mode)
        close(fd)
        guard rename(tmp, path) == 0 else { throw InputError("cannot write the file: \(String(cString: strerror(errno)))", at: .file(path)) }
        done = true
    }

    public static func write(_ text: String, to path: String) throws(InputError) { try write(Array(text.utf8), to: path) }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(InputError) {
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
