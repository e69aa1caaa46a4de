import ArgumentParser
import RewindLog
import RewindReplay

extension Rewind {
    /// `rewind blame LOG KEY`: the entries that made a key what it is.
    public struct Blame: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Show the entries that made a key what it is, oldest first, with its value after each.",
            discussion: """
                An entry touches the key when the command table lists the key among its keys (RENAME, SMOVE, *STORE, \
                MSET and COPY included), when MOVE or COPY ... DB brings it into the database, or when FLUSHALL, FLUSHDB \
                or SWAPDB changed it. Each line starts with its place: sequence number, segment, byte offset of the \
                record, time. A key no entry touched gives a one-line answer and exit code 0. Exit codes: 0 shown; \
                1 the log is damaged or unreadable, or --until is beyond its end; 2 usage errors.
                """)

        @OptionGroup var location: LogArgument

        @Argument(help: ArgumentHelp("Show the history of this key.", valueName: "key"))
        var key: String

        @Option(help: ArgumentHelp("Look for the key in this database.", valueName: "db"))
        var db: Int = 0

        @Option(help: ArgumentHelp("Stop after this sequence number.", valueName: "seq"))
        var until: UInt64?

        @Flag(help: "Print long values and commands in full instead of shortening them.")
        var full = false

        @OptionGroup var format: JSONOption
        @OptionGroup var recoveryOptions: RecoveryOptions

        public init() {}

        public func validate() throws {
            if until == 0 { throw ValidationError("Pass an --until of 1 or more: sequence numbers start at 1.") }
            if db < 0 || db > 15 { throw ValidationError("Pass a --db from 0 to 15.") }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let result = try RewindReplay.Blame.run(log: location.log, key: Array(key.utf8), db: db, untilSequence: until,
                                                    full: full, recovery: recoveryOptions.recovery)
            output.write(result.report(full: full).rendered(format.json ? .json : .text))
            return .success
        }
    }
}
