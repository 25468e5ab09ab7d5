import Foundation

/// A strict JSON parser (RFC 8259) over UTF-8 bytes, for reading traces a line at a time: no Foundation bridging,
/// errors with the byte offset. Numbers become Double (integers up to 2^53 exactly).
///
/// `JSONTape` parses into a flat list of nodes over the bytes and decodes strings and numbers only when a reader asks
/// for them (`JSONView`): a reader that wants a dozen fields of a 500-byte uplink message allocates no dictionary.
/// `JSONParser.parse` builds the whole `JSONValue` tree from the same tape.
public enum JSONParser {
    public struct Failure: Error, Sendable, Equatable {
        public var message: String
        public var offset: Int
        public init(message: String, offset: Int) { self.message = message; self.offset = offset }
    }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        let tape = JSONTape()
        return try tape.parse(bytes[...]).value
    }

    public static func parse(_ text: Substring) throws(Failure) -> JSONValue { try parse(Array(text.utf8)) }
}

/// One parsed JSON text: its bytes and its nodes in document order. A tape is reused from one line to the next
/// (its storage kept); views into it are valid until the next `parse`.
public final class JSONTape {
    public enum Kind: UInt8, Sendable { case null, bool, number, string, array, object }

    struct Node {
        var kind: Kind
        /// A bool's value; for a string, whether it holds escapes.
        var flag: Bool
        /// Strings: the bytes between the quotes; numbers: the number's text; containers: their brackets.
        var start: Int32
        var end: Int32
        /// The index of the node after this one's subtree (children of a container lie between).
        var next: Int32
    }

    // Storage the tape owns and grows by hand, so that reading a node or a byte takes no reference counting
    // (both element types are trivial: no initialisation or deinitialisation needed).
    private var byteStore = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 4096)
    private var nodeStore = UnsafeMutableBufferPointer<Node>.allocate(capacity: 256)
    private(set) var byteCount = 0
    private(set) var nodeCount = 0

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: byteStore[0..<byteCount]) }
    var nodes: UnsafeBufferPointer<Node> { UnsafeBufferPointer(rebasing: nodeStore[0..<nodeCount]) }

    public init() {}

    deinit {
        byteStore.deallocate()
        nodeStore.deallocate()
    }

    /// Parses one JSON text (a line, or a whole document). Throws with the byte offset into `text`.
    public func parse(_ text: ArraySlice<UInt8>) throws(JSONParser.Failure) -> JSONView {
        guard text.count < Int(Int32.max) else { throw JSONParser.Failure(message: "JSON text over 2 GiB", offset: 0) }
        if text.count > byteStore.count {
            byteStore.deallocate()
            byteStore = .allocate(capacity: max(text.count, byteStore.count * 2))
        }
        _ = UnsafeMutableBufferPointer(rebasing: byteStore[0..<text.count]).update(fromContentsOf: text)
        byteCount = text.count
        nodeCount = 0
        // The parser is a local value (no exclusivity checks on a class's stored properties in its loops); it
        // borrows the node storage (which it may grow) and hands it back, also when it throws.
        var parser = Parser(store: nodeStore)
        defer {
            nodeStore = parser.store
            nodeCount = parser.count
        }
        try parser.run(bytes)
        return JSONView(tape: self, index: 0)
    }
}

extension JSONTape {
    struct Parser {
        var store: UnsafeMutableBufferPointer<Node>
        var count = 0
        var i = 0
        var depth = 0

        init(store: UnsafeMutableBufferPointer<Node>) { self.store = store }

        private mutating func append(_ node: Node) {
            if count == store.count {
                let bigger = UnsafeMutableBufferPointer<Node>.allocate(capacity: store.count * 2)
                _ = bigger.initialize(fromContentsOf: store)
                store.deallocate()
                store = bigger
            }
            store[count] = node
            count += 1
        }

        mutating func run(_ b: UnsafeBufferPointer<UInt8>) throws(JSONParser.Failure) {
            skipSpace(b)
            try value(b)
            skipSpace(b)
            guard i == b.count else { throw fail("text after the JSON value") }
        }

        private func fail(_ m: String) -> JSONParser.Failure { JSONParser.Failure(message: m, offset: i) }

        private mutating func skipSpace(_ b: UnsafeBufferPointer<UInt8>) {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        private mutating func leaf(_ kind: Kind, _ start: Int, _ end: Int, flag: Bool = false) {
            append(Node(kind: kind, flag: flag, start: Int32(truncatingIfNeeded: start), end: Int32(truncatingIfNeeded: end),
                        next: Int32(truncatingIfNeeded: count + 1)))
        }

        private mutating func value(_ b: UnsafeBufferPointer<UInt8>) throws(JSONParser.Failure) {
            guard i < b.count else { throw fail("unexpected end of the JSON text") }
            switch b[i] {
            case UInt8(ascii: "{"): try container(b, object: true)
            case UInt8(ascii: "["): try container(b, object: false)
            case UInt8(ascii: "\""): try string(b)
            case UInt8(ascii: "t"): try literal(b, "true"); leaf(.bool, i - 4, i, flag: true)
            case UInt8(ascii: "f"): try literal(b, "false"); leaf(.bool, i - 5, i, flag: false)
            case UInt8(ascii: "n"): try literal(b, "null"); leaf(.null, i - 4, i)
            default: try number(b)
            }
        }

        private mutating func literal(_ b: UnsafeBufferPointer<UInt8>, _ word: StaticString) throws(JSONParser.Failure) {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count else { throw fail("unexpected end of the JSON text") }
            let w = word.utf8Start
            for k in 0..<n where b[i + k] != w[k] { throw fail("not a JSON value") }
            i += n
        }

        private mutating func container(_ b: UnsafeBufferPointer<UInt8>, object: Bool) throws(JSONParser.Failure) {
            depth += 1
            guard depth < 200 else { throw fail("JSON nested too deeply") }
            defer { depth -= 1 }
            let me = count
            append(Node(kind: object ? .object : .array, flag: false, start: Int32(truncatingIfNeeded: i), end: 0, next: 0))
            let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            i += 1
            skipSpace(b)
            if i < b.count, b[i] == close {
                i += 1
            } else {
                while true {
                    skipSpace(b)
                    if object {
                        guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                        try string(b)
                        skipSpace(b)
                        guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                        i += 1
                        skipSpace(b)
                    }
                    try value(b)
                    skipSpace(b)
                    guard i < b.count else { throw fail("unexpected end of the JSON text") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == close { i += 1; break }
                    throw fail(object ? "expected ',' or '}'" : "expected ',' or ']'")
                }
            }
            store[me].end = Int32(truncatingIfNeeded: i)
            store[me].next = Int32(truncatingIfNeeded: count)
        }

        private mutating func string(_ b: UnsafeBufferPointer<UInt8>) throws(JSONParser.Failure) {
            i += 1
            let start = i
            while i < b.count, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\") {
                guard b[i] >= 0x20 else { throw fail("control character in a string") }
                i += 1
            }
            guard i < b.count else { throw fail("unterminated string") }
            if b[i] == UInt8(ascii: "\"") {
                leaf(.string, start, i)
                i += 1
                return
            }
            // Escapes: decoded once here to check them (and find the end); decoded again if the value is asked for.
            var j = start
            _ = try Parser.unescape(b, &j)
            i = j
            leaf(.string, start, i - 1, flag: true)
        }

        /// Decodes a string's content from `j` (just after the opening quote) to its closing quote; leaves `j` after it.
        static func unescape(_ b: UnsafeBufferPointer<UInt8>, _ j: inout Int) throws(JSONParser.Failure) -> [UInt8] {
            func fail(_ m: String) -> JSONParser.Failure { JSONParser.Failure(message: m, offset: j) }
            func hex4() throws(JSONParser.Failure) -> UInt32 {
                guard j + 4 <= b.count else { throw fail("truncated \\u escape") }
                var v: UInt32 = 0
                for _ in 0..<4 {
                    let c = b[j]
                    let d: UInt32
                    switch c {
                    case 0x30...0x39: d = UInt32(c - 0x30)
                    case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                    case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                    default: throw fail("bad \\u escape")
                    }
                    v = v << 4 | d
                    j += 1
                }
                return v
            }
            var out: [UInt8] = []
            while j < b.count {
                let c = b[j]
                if c == UInt8(ascii: "\"") { j += 1; return out }
                guard c == UInt8(ascii: "\\") else {
                    guard c >= 0x20 else { throw fail("control character in a string") }
                    out.append(c)
                    j += 1
                    continue
                }
                j += 1
                guard j < b.count else { throw fail("unterminated string") }
                let e = b[j]
                j += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar), j + 1 < b.count, b[j] == UInt8(ascii: "\\"), b[j + 1] == UInt8(ascii: "u") {
                        j += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("bad surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("bad \\u escape") }
                    out += Array(String(Character(u)).utf8)
                default:
                    throw fail("bad escape")
                }
            }
            throw fail("unterminated string")
        }

        private mutating func number(_ b: UnsafeBufferPointer<UInt8>) throws(JSONParser.Failure) {
            let start = i
            if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, (0x30...0x39).contains(b[i]) else { throw fail("not a JSON value") }
            if b[i] == 0x30 { i += 1 } else {
                while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                guard i < b.count, (0x30...0x39).contains(b[i]) else { throw fail("a digit must follow the decimal point") }
                while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
            }
            var exponent = false
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                exponent = true
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard i < b.count, (0x30...0x39).contains(b[i]) else { throw fail("a digit must follow the exponent") }
                while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
            }
            // RFC 8259 §6 lets a parser limit the range: a number beyond a Double's (±1.8e308) is refused, as it could
            // not be written back. Only long numbers or ones with an exponent can be that large.
            if exponent || i - start > 300 {
                let v = Double(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)) ?? .infinity
                guard v.isFinite else { i = start; throw fail("a number beyond the range of a double (±1.8e308)") }
            }
            leaf(.number, start, i)
        }
    }
}

extension JSONTape {
    // MARK: Reading nodes

    func string(at n: Node) -> String {
        let s = Int(n.start), e = Int(n.end)
        let b = bytes
        guard n.flag else { return String(decoding: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self) }
        var j = s
        return String(decoding: (try? Parser.unescape(b, &j)) ?? [], as: UTF8.self)
    }

    /// The number's value: integers of up to 18 digits exactly, anything else through the standard library's
    /// correctly rounded conversion.
    func number(at n: Node) -> Double {
        do {
            let b = bytes
            var k = Int(n.start)
            let e = Int(n.end)
            let negative = b[k] == UInt8(ascii: "-")
            if negative { k += 1 }
            var v: UInt64 = 0
            var digits = 0
            while k < e, (0x30...0x39).contains(b[k]), digits < 18 { v = v * 10 + UInt64(b[k] - 0x30); k += 1; digits += 1 }
            if k == e { return negative ? -Double(v) : Double(v) }
            return Double(String(decoding: UnsafeBufferPointer(rebasing: b[Int(n.start)..<e]), as: UTF8.self)) ?? .nan
        }
    }

    /// The node index of the value of the object at `object` named `key`: names compared as bytes (an escaped name
    /// decoded first), the buffers borrowed once for the whole walk.
    func member(of object: Int, named key: String) -> Int? {
        var key = key
        let n = nodes, b = bytes
        return key.withUTF8 { k -> Int? in
            guard object < n.count, n[object].kind == .object, let base = b.baseAddress else { return nil }
            var i = object + 1
            let end = Int(n[object].next)
            while i + 1 < end {
                let name = n[i]
                let s = Int(name.start), len = Int(name.end) - s
                if name.flag {
                    if string(at: name) == String(decoding: k, as: UTF8.self) { return i + 1 }
                } else if len == k.count, len == 0 || (k.baseAddress.map { memcmp(base + s, $0, len) == 0 } ?? false) {
                    return i + 1
                }
                i = Int(n[i + 1].next)
            }
            return nil
        }
    }
}

/// A value inside a parsed `JSONTape`, read on demand.
public struct JSONView {
    /// Not retained: views are short-lived reads of a tape their reader owns (and valid until its next parse).
    unowned(unsafe) let tape: JSONTape
    let index: Int

    private var node: JSONTape.Node { tape.nodes[index] }
    public var kind: JSONTape.Kind { node.kind }

    /// An object's member by name (nil when this is not an object or has no such member; the first when a name
    /// repeats).
    public subscript(key: String) -> JSONView? {
        tape.member(of: index, named: key).map { JSONView(tape: tape, index: $0) }
    }

    /// An array's elements (empty when this is not an array).
    public var elements: [JSONView] {
        let n = node
        guard n.kind == .array else { return [] }
        var out: [JSONView] = []
        var k = index + 1
        while k < Int(n.next) {
            out.append(JSONView(tape: tape, index: k))
            k = Int(tape.nodes[k].next)
        }
        return out
    }

    public var isArray: Bool { node.kind == .array }
    public var string: String? { node.kind == .string ? tape.string(at: node) : nil }
    public var number: Double? { node.kind == .number ? tape.number(at: node) : nil }
    public var bool: Bool? { node.kind == .bool ? node.flag : nil }

    /// The whole value as a `JSONValue` tree.
    public var value: JSONValue {
        let n = node
        switch n.kind {
        case .null: return .null
        case .bool: return .bool(n.flag)
        case .number: return .number(tape.number(at: n))
        case .string: return .string(tape.string(at: n))
        case .array: return .array(elements.map(\.value))
        case .object:
            var out: [String: JSONValue] = [:]
            var k = index + 1
            while k < Int(n.next) {
                out[tape.string(at: tape.nodes[k])] = JSONView(tape: tape, index: k + 1).value
                k = Int(tape.nodes[k + 1].next)
            }
            return .object(out)
        }
    }
}
