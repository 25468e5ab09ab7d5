import Foundation

/// The files that come with the tool (`hardware/profiles`, `hardware/plans`): found through an environment
/// variable, else in the working directory, else beside the executable (up to five directories up, as in a build
/// tree or an installed prefix).
public enum BundledFiles {
    public static func directory(_ relative: String, variable: String, root: String? = nil) -> String {
        if let env = ProcessInfo.processInfo.environment[variable] { return env }
        let fm = FileManager.default
        if let root { return (root as NSString).appendingPathComponent(relative) }
        // In the working directory: named as the user would (`hardware/plans/…`), not with an absolute path.
        if fm.fileExists(atPath: relative) { return relative }
        let here = (fm.currentDirectoryPath as NSString).appendingPathComponent(relative)
        // The executable's own path from /proc (Foundation's Bundle.main traps when the executable's directory is not
        // readable, as for a user who may run the tool but not list its build directory).
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            for _ in 0..<5 {
                let candidate = dir.appendingPathComponent(relative).path
                if fm.fileExists(atPath: candidate) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
        }
        return here
    }

    /// A file given by name (`NAME` for `DIR/NAME.yaml`) or by path; an unknown name lists the known ones.
    public static func find(_ nameOrPath: String, in dir: String, what: String) throws(InputError) -> String {
        if nameOrPath.hasSuffix(".yaml") || nameOrPath.contains("/") { return nameOrPath }
        let path = (dir as NSString).appendingPathComponent(nameOrPath + ".yaml")
        guard FileManager.default.fileExists(atPath: path) else {
            let known = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasSuffix(".yaml") }
                .map { String($0.dropLast(5)) }.sorted() ?? []
            throw InputError("no \(what) '\(nameOrPath)' in \(dir); "
                             + (known.isEmpty ? "none there (give a file)" : "known: " + known.joined(separator: ", ")))
        }
        return path
    }
}
