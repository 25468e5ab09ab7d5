import Foundation
import HarnessCore

/// `FIELD=VALUE` words for the command line, turned into the JSON message object the codecs take:
/// `occupied=true changes=5 history=10,70` or, for gate counts, `history=300:118:99,600:116:98` (age:in:out).
public enum MessageFields {
    public static func object(type: String, fields: [String]) throws(InputError) -> JSONValue {
        var o: [String: JSONValue] = ["type": .string(type.replacingOccurrences(of: "-", with: "_"))]
        for word in fields {
            guard let eq = word.firstIndex(of: "=") else {
                throw InputError("'\(word)' is not FIELD=VALUE", at: .argument(word))
            }
            let key = String(word[..<eq]).replacingOccurrences(of: "-", with: "_")
            let value = String(word[word.index(after: eq)...])
            if key == "history" {
                var entries: [JSONValue] = []
                for item in value.split(separator: ",") where !item.isEmpty {
                    let parts = item.split(separator: ":").map(String.init)
                    guard let age = Double(parts[0]) else { throw InputError("history entry '\(item)' is not age[:in:out]", at: .argument(word)) }
                    var e: [String: JSONValue] = ["age_s": .number(age)]
                    if parts.count == 3, let i = Double(parts[1]), let out = Double(parts[2]) {
                        e["in"] = .number(i); e["out"] = .number(out)
                    } else if parts.count != 1 {
                        throw InputError("history entry '\(item)' is not age or age:in:out", at: .argument(word))
                    }
                    entries.append(.object(e))
                }
                o[key] = .array(entries)
            } else if value == "true" || value == "false" {
                o[key] = .bool(value == "true")
            } else if value == "null" {
                o[key] = .null
            } else if let n = Double(value) {
                o[key] = .number(n)
            } else {
                o[key] = .string(value)
            }
        }
        return .object(o)
    }
}
