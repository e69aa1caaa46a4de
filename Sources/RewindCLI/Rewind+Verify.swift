import ArgumentParser
import RewindLog
import RewindReplay

extension Rewind {
    /// `rewind verify LOG`: check every record, print every damage, say what to do next.
    public struct Verify: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Check every record of a log and print every damaged range.",
            discussion: """
                Prints one line per damaged range as it is found, then a summary line with what to do next. \
                Exits 0 when the log holds no damage that the recovery mode refuses, 1 when it does or the log \
                cannot be read, and 2 on usage errors.
                """)

        @OptionGroup var location: LogArgument

        @Option(help: "Judge the damage found as this recovery mode would; absolute refuses any damage.")
        var recovery: RecoveryMode = .absolute

        public init() {}

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let report = try LogVerifier.verify(directory: location.log, recovery: recovery, reporter: PrintingReporter(output))
            output.write(report.summaryLine)
            return report.passes ? .success : ExitCode(1)
        }
    }
}
