import ArgumentParser
import Foundation
import Codecs
import HarnessCore

/// The root command. Subcommands are small types, one per file; each only parses and calls a library.
struct LoRaHarness: AsyncParsableCommand {
    static let toolVersion = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "loraharness",
        abstract: "Simulate and test LoRa occupancy sensors from the firmware side.",
        discussion: """
            Exit status: 0 success, 1 a check or assertion failed, 2 bad input or usage. \
            Errors are one line on stderr: error: what was wrong (where: file:line, byte offset, argument).
            """,
        version: "loraharness \(toolVersion) (payload format \(OccupancyCodec.formatVersion))",
        subcommands: [AirtimeCommand.self, ReplayCommand.self, BudgetCommand.self, RegionsCommand.self, LinkCommand.self, FrameCommand.self, KeysCommand.self, CodecCommand.self, SimulateCommand.self, MergeCommand.self, DeviceCommand.self, PortsCommand.self, EmulateCommand.self, FlashTestCommand.self]
    )
}

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the machine-readable result (JSON) on stdout instead of the table.")
    var json = false

    @Flag(name: .long, help: "Print only errors and warnings.")
    var quiet = false

    @Flag(name: .long, help: "Print extra detail on stderr.")
    var verbose = false

    var console: Console {
        Console(verbosity: quiet ? .quiet : (verbose ? .verbose : .normal))
    }

    /// Writes `value` as JSON on stdout, or `text` for people.
    func emit<T: Encodable>(_ value: T, text: @autoclosure () -> String) throws {
        if json {
            print(try JSONOutput.encode(value))
        } else {
            console.say(text())
        }
    }
}

@main
enum Main {
    static func main() async {
        var status = await run(Array(CommandLine.arguments.dropFirst()))
        // What went to standard output must have arrived: a full disk or /dev/full is an error, not a success.
        if let failure = StandardStreams.finish() {
            printError("error: cannot write standard output: \(failure)")
            if status == ExitStatus.success.rawValue { status = ExitStatus.badInput.rawValue }
        }
        exit(status)
    }

    /// Parses and runs; maps every outcome to the documented exit statuses.
    static func run(_ arguments: [String]) async -> Int32 {
        // SIGINT/SIGTERM: by default the process exits at once (130/143), removing the temporary files of writes
        // under way; replay, flash-test and emulate install the graceful mode and keep what is meaningful.
        Interruption.install(graceful: false)
        do {
            var command = try LoRaHarness.parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            if Interruption.requested {
                printError("error: stopped by \(Interruption.signalName)")
                return Interruption.exitStatus
            }
            return ExitStatus.success.rawValue
        } catch {
            if Interruption.requested {
                printError("error: stopped by \(Interruption.signalName)" + ((error as? Interrupted).map { ": \($0.message)" } ?? ""))
                return Interruption.exitStatus
            }
            return report(error, subcommand: commandPath(arguments))
        }
    }

    static func report(_ error: Error, subcommand: String? = nil) -> Int32 {
        switch error {
        case let e as InputError:
            printError("error: \(e)")
            return ExitStatus.badInput.rawValue
        case let e as CheckFailure:
            printError("error: \(e)")
            return ExitStatus.checkFailed.rawValue
        case let e as ExitCode:
            return e.rawValue
        default:
            let code = LoRaHarness.exitCode(for: error)
            if code == .success {
                // --help, --version: the full text on stdout.
                print(LoRaHarness.fullMessage(for: error))
                return 0
            }
            // Usage errors (ArgumentParser uses 64, EX_USAGE) are bad input: 2, in one line.
            let message = LoRaHarness.message(for: error)
                .split(separator: "\n").first.map(String.init) ?? "bad usage"
            var line = message
            if line.hasPrefix("Error: ") { line.removeFirst(7) }
            if !line.contains("(where: ") {
                line += " (see 'loraharness \(subcommand.map { $0 + " " } ?? "")--help')"
            }
            printError("error: \(line)")
            return ExitStatus.badInput.rawValue
        }
    }

    /// The subcommand names at the start of `arguments` ("frame encode"), for the help hint.
    static func commandPath(_ arguments: [String]) -> String? {
        var level: [ParsableCommand.Type] = LoRaHarness.configuration.subcommands
        var path: [String] = []
        for a in arguments {
            guard let next = level.first(where: { $0._commandName == a }) else { break }
            path.append(a)
            level = next.configuration.subcommands
        }
        return path.isEmpty ? nil : path.joined(separator: " ")
    }

    static func printError(_ line: String) {
        StandardStreams.err((line + "\n"))
    }
}
