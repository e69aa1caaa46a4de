import ArgumentParser

/// The `rewind` command: its subcommands in workflow order.
public struct Rewind: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rewind",
        abstract: "Record, verify, inspect and replay Redis command logs.",
        version: "0.1.0",
        subcommands: []
    )

    public init() {}
}
