import Foundation
import Yams

/// A YAML or JSON document (JSON is read as YAML, its superset) whose every node knows its file and line, so
/// that every error in a scenario, plan, profile or keys file says where: `file:line, field a.b[2].c`.
public struct DocumentNode: @unchecked Sendable {  // Yams.Node is an immutable value tree
    public let file: String
    public let keyPath: String
    let node: Node

    /// Reads and parses `path`. Errors name the file, and the line for syntax errors.
    public static func load(path: String) throws(InputError) -> DocumentNode {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw InputError("no such file", at: .file(path)) }
        guard !isDirectory.boolValue else { throw InputError("is a directory, not a file", at: .file(path)) }
        // Scenarios, plans, profiles and keys are small: a huge file is a mistake, not something to parse.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 64 << 20 {
            throw InputError("\(size) bytes is too large for a YAML or JSON document of this tool (64 MiB at most)", at: .file(path))
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read the file (permission denied)", at: .file(path)) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputError("the file is not UTF-8 text", at: .file(path))
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(InputError) -> DocumentNode {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw InputError("the file is empty", at: .file(file))
            }
            // Aliases repeat what an anchor names: a short text can stand for an enormous document ("billion laughs").
            if text.utf8.contains(UInt8(ascii: "*")) {
                let bound = max(maxExpandedNodes, text.utf8.count)
                if !Self.expands(node, within: bound) {
                    throw InputError("the document's aliases expand it to more than \(bound) values; write it out or split it",
                                     at: .file(file))
                }
            }
            return DocumentNode(file: file, keyPath: "", node: node)
        } catch let e as InputError {
            throw e
        } catch let e as YamlError {
            throw InputError(Self.describe(e), at: Self.location(of: e, file: file))
        } catch {
            throw InputError("cannot parse: \(error)", at: .file(file))
        }
    }

    /// How many values (scalars, lists, mappings, keys included) a document may hold after alias expansion: a
    /// million, or its size in bytes when larger (a document without aliases never holds more values than bytes).
    public static let maxExpandedNodes = 1_000_000

    /// Whether `root`, aliases expanded, has at most `bound` values; counts at most `bound + 1` of them.
    static func expands(_ root: Node, within bound: Int) -> Bool {
        var stack = [root]
        var count = 0
        while let n = stack.popLast() {
            count += 1
            if count > bound { return false }
            if let m = n.mapping {
                for (k, v) in m { stack.append(k); stack.append(v) }
            } else if let s = n.sequence {
                stack.append(contentsOf: s)
            }
        }
        return true
    }

    /// One line, and never the document's text: a keys file's error must not show its keys.
    private static func describe(_ e: YamlError) -> String {
        switch e {
        case .reader(let problem, _, _, _):
            return "not valid YAML or JSON: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, _):
            return "a field is given twice: " + duplicates.sorted().map { Self.shown($0) }.joined(separator: ", ")
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _):
            let c = context.map { "\($0.text) " } ?? ""
            return "not valid YAML or JSON: \(c)\(problem)"
        case .composer(let context, let problem, _, _):
            return "not valid YAML or JSON: \(context.map { "\($0.text) " } ?? "")\(problem)"
        case .dataCouldNotBeDecoded:
            return "not valid YAML or JSON: the text is not in a known encoding"
        default:
            return "not valid YAML or JSON"
        }
    }

    private static func location(of e: YamlError, file: String) -> InputLocation {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return .line(file: file, line: mark.line)
        case .duplicatedKeysInMapping(_, let context):
            return .line(file: file, line: context.mark.line)
        case .reader(_, let offset?, _, let yaml):
            // The line of the offending character (offset counts characters of the text).
            let line = 1 + yaml.prefix(max(0, offset)).reduce(0) { $1.isNewline ? $0 + 1 : $0 }
            return .line(file: file, line: line)
        default:
            return .file(file)
        }
    }

    /// Text of the document quoted in an error, unless it holds a run of 32 hexadecimal digits or more: that may
    /// be a key put in the wrong place (a keys file's error must never show a key), and is described instead.
    public static func shown(_ text: String) -> String {
        var run = 0
        for u in text.utf8 {
            if (0x30...0x39).contains(u) || (0x41...0x46).contains(u) || (0x61...0x66).contains(u) {
                run += 1
                if run >= 32 { return "(\(text.count) characters, not shown: they hold what looks like a key)" }
            } else {
                run = 0
            }
        }
        return "'\(text.count > 80 ? String(text.prefix(80)) + "…" : text)'"
    }

    public var line: Int { node.mark?.line ?? 0 }

    public var location: InputLocation {
        keyPath.isEmpty ? .line(file: file, line: line) : .field(file: file, line: line, field: keyPath)
    }

    public func error(_ message: String) -> InputError { InputError(message, at: location) }

    private func child(_ n: Node, _ key: String) -> DocumentNode {
        DocumentNode(file: file, keyPath: keyPath.isEmpty ? key : "\(keyPath).\(key)", node: n)
    }

    private func element(_ n: Node, _ i: Int) -> DocumentNode {
        DocumentNode(file: file, keyPath: "\(keyPath)[\(i)]", node: n)
    }

    public var isMapping: Bool { node.mapping != nil }
    public var isSequence: Bool { node.sequence != nil }
    public var isNull: Bool { node.scalar.map { $0.string == "null" || $0.string == "~" || ($0.string.isEmpty && $0.style == .plain) } ?? false }

    /// The mapping's entries in file order.
    public func entries() throws(InputError) -> [(key: String, value: DocumentNode)] {
        guard let m = node.mapping else { throw error("expected a mapping (key: value pairs)") }
        var out: [(String, DocumentNode)] = []
        for (k, v) in m {
            guard let key = k.string else { throw error("a key is not a string") }
            out.append((key, child(v, key)))
        }
        return out
    }

    /// The value under `key`, or nil when absent or null.
    public func optional(_ key: String) throws(InputError) -> DocumentNode? {
        guard let m = node.mapping else { throw error("expected a mapping (key: value pairs)") }
        guard let v = m[key] else { return nil }
        let c = child(v, key)
        return c.isNull ? nil : c
    }

    /// The value under the first of `keys` that is present.
    public func optional(anyOf keys: String...) throws(InputError) -> DocumentNode? {
        for k in keys { if let v = try optional(k) { return v } }
        return nil
    }

    public func require(_ key: String) throws(InputError) -> DocumentNode {
        guard let v = try optional(key) else {
            throw InputError("missing field '\(key)'", at: keyPath.isEmpty ? .line(file: file, line: line)
                : .field(file: file, line: line, field: keyPath))
        }
        return v
    }

    /// Fails on the first key not in `allowed`, naming it and the line it is on.
    public func allowOnly(_ allowed: Set<String>) throws(InputError) {
        for (key, value) in try entries() where !allowed.contains(key) {
            throw InputError("unknown field \(Self.shown(key)); allowed: \(allowed.sorted().joined(separator: ", "))",
                             at: .line(file: file, line: value.line))
        }
    }

    public func array() throws(InputError) -> [DocumentNode] {
        guard let s = node.sequence else { throw error("expected a list") }
        return s.enumerated().map { element($0.element, $0.offset) }
    }

    public func string() throws(InputError) -> String {
        guard let s = node.scalar else { throw error("expected a single value, not a list or mapping") }
        return s.string
    }

    public func int() throws(InputError) -> Int {
        let s = try string()
        let t = s.lowercased()
        if t.hasPrefix("0x"), let v = Int(t.dropFirst(2), radix: 16) { return v }
        guard let v = Int(s) else { throw error("\(Self.shown(s)) is not a whole number") }
        return v
    }

    public func int(in range: ClosedRange<Int>) throws(InputError) -> Int {
        let v = try int()
        guard range.contains(v) else { throw error("\(v) is out of range; allowed: \(range.lowerBound) to \(range.upperBound)") }
        return v
    }

    public func double() throws(InputError) -> Double {
        let s = try string()
        guard let v = Double(s), v.isFinite else { throw error("\(Self.shown(s)) is not a number") }
        return v
    }

    public func bool() throws(InputError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("\(Self.shown(try string())) is not true or false")
        }
    }

    public func duration() throws(InputError) -> Nanoseconds {
        let s = try string()
        do { return try DurationFormat.parse(s) } catch { throw self.error(error.message) }
    }

    public func frequency() throws(InputError) -> Int64 {
        let s = try string()
        do { return try FrequencyFormat.parse(s) } catch { throw self.error(error.message) }
    }

    /// Parses the scalar with `parse`, placing its error here.
    public func value<T>(_ parse: (String) throws(InputError) -> T) throws(InputError) -> T {
        let s = try string()
        do { return try parse(s) } catch { throw self.error(error.message) }
    }
}
