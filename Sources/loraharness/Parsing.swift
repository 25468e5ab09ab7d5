import ArgumentParser
import HarnessCore
import RadioLink

// Option values are parsed by the libraries' own parsers (the same spellings as in files); their
// one-line messages name the bad value and what is allowed.

func bandwidthArgument(_ s: String) throws -> LoRaBandwidth { try LoRaBandwidth.parse(s) }
func codingRateArgument(_ s: String) throws -> CodingRate { try CodingRate.parse(s) }
func regionArgument(_ s: String) throws -> RegionID { try RegionID.parse(s) }
func durationArgument(_ s: String) throws -> Nanoseconds { try DurationFormat.parse(s) }
func frequencyArgument(_ s: String) throws -> Int64 { try FrequencyFormat.parse(s) }

func switchArgument(_ s: String) throws -> Bool {
    switch s.lowercased() {
    case "on", "true", "yes", "1": return true
    case "off", "false", "no", "0": return false
    default: throw InputError("'\(s)' is not on or off")
    }
}

extension LowDataRateOptimization: ExpressibleByArgument {}
extension DutyCyclePolicy: ExpressibleByArgument {}

/// Throws a usage error naming the option when `condition` fails.
func require(_ condition: Bool, _ message: @autoclosure () -> String, option: String) throws {
    if !condition { throw InputError(message(), at: .argument(option)) }
}

/// Parses an option's text with a library parser; its error is placed at the option.
func parseArgument<T>(_ text: String, option: String, _ parse: (String) throws(InputError) -> T) throws -> T {
    do throws(InputError) { return try parse(text) } catch { throw InputError(error.message, at: .argument(option)) }
}

/// Refuses output options that name an input file (writing would destroy it before, or while, it is read) or the
/// same file as another output.
func refuseOverwriting(inputs: [String], outputs: [(option: String, path: String?)]) throws {
    var seen: [(option: String, path: String)] = []
    for (option, path) in outputs {
        guard let path else { continue }
        for input in inputs where FileIdentity.same(path, input) {
            throw InputError("\(path) is also an input: writing it would destroy it", at: .argument(option))
        }
        if let other = seen.first(where: { FileIdentity.same($0.path, path) }) {
            throw InputError("\(path) is also given to \(other.option): one would overwrite the other", at: .argument(option))
        }
        seen.append((option, path))
    }
}
