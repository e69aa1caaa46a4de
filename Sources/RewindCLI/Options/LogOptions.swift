import ArgumentParser
import RewindLog

/// The log directory a command reads.
struct LogArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("Read the log in this directory.", valueName: "log"))
    var log: String
}

/// How a reading command treats damage in the log.
struct RecoveryOptions: ParsableArguments {
    @Option(help: "Treat damage as this recovery mode does; the default cuts a torn tail and refuses other damage.")
    var recovery: RecoveryMode = .tolerateTail
}

/// `--json` for commands with a machine-readable form.
struct JSONOption: ParsableArguments {
    @Flag(help: "Print JSON instead of text (field names are listed in docs/CLI.md).")
    var json = false
}

extension RecoveryMode: ExpressibleByArgument {}
