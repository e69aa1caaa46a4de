import ArgumentParser
import RewindLog
import RewindReplay

extension Rewind {
    /// `rewind stats LOG`: counts, sizes, and the size of the same commands as a Redis AOF.
    public struct Stats: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Print counts and sizes of a log, compared with the same commands as a Redis AOF.")

        @OptionGroup var location: LogArgument

        @Option(help: "List this many of the most frequent commands.")
        var top = 10

        @OptionGroup var format: JSONOption
        @OptionGroup var recoveryOptions: RecoveryOptions

        public init() {}

        public func validate() throws {
            if top < 0 { throw ValidationError("Pass a --top of 0 or more.") }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let statistics = try LogStatistics.compute(directory: location.log, topCommandCount: top, recovery: recoveryOptions.recovery)
            output.write(format.json ? statistics.renderJSON() : statistics.renderText())
            return .success
        }
    }
}
