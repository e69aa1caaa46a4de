import ArgumentParser
import Foundation
import RewindLog
import RewindReplay

/// The `rewind` command: its subcommands in workflow order.
///
/// Exit codes, for every subcommand: 0 success; 1 the input is bad (a damaged, truncated, foreign
/// or missing log or source) or `verify` found damage; 2 a usage error (unknown flag, missing
/// argument, invalid value). See docs/CLI.md.
public struct Rewind: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rewind",
        abstract: "Record, verify, inspect and replay Redis command logs.",
        discussion: "Exit codes: 0 on success, 1 when the input is damaged or unreadable (or verify finds damage), 2 on usage errors.",
        version: "0.1.0",
        subcommands: [Serve.self, Replay.self, Blame.self, Bisect.self, Verify.self, Inspect.self, Tail.self, Stats.self, Repair.self, Compact.self, Import.self, Export.self]
    )

    public init() {}

    /// Exit code for usage errors (ArgumentParser's own default is 64, `EX_USAGE`).
    public static let usageErrorCode: Int32 = 2

    /// Parses `arguments` (without the program name), runs the command in-process and returns the
    /// exit code `main()` exits with. Results go to `output`; errors are one line on its error stream.
    public static func run(_ arguments: [String], output: CommandOutput) -> Int32 {
        let arguments = BisectArguments.normalized(arguments)
        return $rawArguments.withValue(arguments) { runParsed(arguments, output: output) }
    }

    /// The command line being run, for options whose order matters (bisect's --probe/--expect pairs).
    @TaskLocal static var rawArguments: [String] = []

    private static func runParsed(_ arguments: [String], output: CommandOutput) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if let command = command as? any RewindCommand {
                return try command.execute(output).rawValue
            }
            try command.run()
            return 0
        } catch let code as ExitCode {
            return code.rawValue
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                output.write(fullMessage(for: error, columns: output.columns))
                return 0
            }
            if code == .validationFailure {
                output.error(fullMessage(for: error, columns: output.columns))
                return usageErrorCode
            }
            output.error("rewind: error: \(String(describing: error))")
            return code.rawValue == 0 ? 1 : code.rawValue
        }
    }

    /// The entry point of the `rewind` executable.
    public static func main() {
        let code = run(Array(CommandLine.arguments.dropFirst()), output: .standard)
        CommandOutput.standard.flush()
        Foundation.exit(code)
    }
}

/// A subcommand that writes to a ``CommandOutput`` and returns its exit code, so tests can run it
/// in-process and check both.
public protocol RewindCommand: ParsableCommand {
    /// Runs the command; results go to `output.write`, progress and notes to `output.error`.
    func execute(_ output: CommandOutput) throws -> ExitCode
}

extension RewindCommand {
    public mutating func run() throws {
        defer { CommandOutput.standard.flush() }
        let code = try execute(.standard)
        if code != .success { throw code }
    }
}

/// Where a command writes: results to standard output, progress and notes to standard error.
public final class CommandOutput: @unchecked Sendable {
    private let writeOut: (String) -> Void
    private let writeError: (String) -> Void
    /// Progress lines are shown only when standard error is a terminal.
    public let showsProgress: Bool
    /// Help text width; nil uses the terminal's.
    public let columns: Int?

    public init(showsProgress: Bool, columns: Int?, out: @escaping (String) -> Void, error: @escaping (String) -> Void) {
        self.showsProgress = showsProgress
        self.columns = columns
        self.writeOut = out
        self.writeError = error
    }

    /// The process's standard output (buffered: `inspect` prints millions of lines) and
    /// standard error (unbuffered).
    public static let standard: CommandOutput = {
        let buffer = StandardOutputBuffer()
        let output = CommandOutput(
            showsProgress: isatty(2) == 1, columns: nil,
            out: { text in buffer.append(text) },
            error: { text in FileHandle.standardError.write(Data((text + "\n").utf8)) })
        output.flushOut = { buffer.flush() }
        return output
    }()

    private var flushOut: (() -> Void)?

    /// Writes one line (or several) of results.
    public func write(_ line: String) { writeOut(line) }
    /// Writes one line to the error stream, after the results written so far.
    public func error(_ line: String) {
        flush()
        writeError(line)
    }
    /// Hands buffered results to the operating system.
    public func flush() { flushOut?() }
    /// Shows a progress line, overwritten by the next, only on a terminal.
    public func progress(_ line: String) {
        guard showsProgress else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }
    /// Clears the progress line.
    public func endProgress() {
        guard showsProgress else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// A `DamageReporter` that prints each damage as it is found.
final class PrintingReporter: DamageReporter {
    let output: CommandOutput
    let prefix: String
    let toErrorStream: Bool
    init(_ output: CommandOutput, prefix: String = "", toErrorStream: Bool = false) {
        self.output = output
        self.prefix = prefix
        self.toErrorStream = toErrorStream
    }
    func report(_ damage: LogDamage) {
        if toErrorStream { output.error(prefix + damage.description) } else { output.write(prefix + damage.description) }
    }
}

/// Collects standard output and writes it in large pieces.
final class StandardOutputBuffer: @unchecked Sendable {
    private var bytes: [UInt8] = []
    func append(_ line: String) {
        bytes.append(contentsOf: line.utf8)
        bytes.append(10)
        if bytes.count >= 64 * 1024 { flush() }
    }
    func flush() {
        guard !bytes.isEmpty else { return }
        FileHandle.standardOutput.write(Data(bytes))
        bytes.removeAll(keepingCapacity: true)
    }
}
