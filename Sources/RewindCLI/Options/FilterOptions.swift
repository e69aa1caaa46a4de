import ArgumentParser
import RewindReplay

/// `--filter-key`, `--filter-command` and `--grep` for the commands that print entries.
struct FilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Show only commands with a key that matches this glob, as KEYS matches.", valueName: "pattern"))
    var filterKey: String?

    @Option(help: ArgumentHelp("Show only commands with one of these names.", valueName: "name,..."))
    var filterCommand: String?

    @Option(help: ArgumentHelp("Show only commands with an argument that this regular expression matches.", valueName: "regex"))
    var grep: String?

    func filter() throws -> EntryFilter {
        try EntryFilter(keyPattern: filterKey, commandNames: (filterCommand ?? "").split(separator: ",").map(String.init), grep: grep)
    }
}
