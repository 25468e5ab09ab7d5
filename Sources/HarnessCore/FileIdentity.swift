import Foundation

/// Whether two paths name the same file: the same device and inode when both exist (links and `./` spellings
/// included), else the same absolute path.
public enum FileIdentity {
    public static func same(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0, stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        func absolute(_ p: String) -> String {
            let full = p.hasPrefix("/") ? p : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(p)
            return (full as NSString).standardizingPath
        }
        return absolute(a) == absolute(b)
    }
}
