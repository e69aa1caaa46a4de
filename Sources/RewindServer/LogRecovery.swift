// Startup: open the log, replay it into a fresh keyspace under the chosen recovery mode, refuse
// damage with its place and the command to run. See docs/SERVER.md, "Crash recovery".

import RewindEngine
import RewindLog

/// Why the server refused to start, in one line that names the place and what to run next.
public struct ServerStartupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

enum LogRecovery {
    /// Opens `configuration.directory` for appending and replays it into `keyspace`.
    ///
    /// - tolerate-tail: the writer cuts an incomplete final record (reported); damage anywhere
    ///   else refuses the start.
    /// - absolute: any damage, a torn tail included, refuses the start; nothing is changed.
    /// - point-in-time: replay stops at the first damage; the start is refused unless that damage
    ///   is the torn tail, because appending after a hole would hide every later entry from the
    ///   next replay.
    /// - skip-damaged: damaged records are dropped first (`rewind repair --skip-damaged`, each one
    ///   reported), then the rest is replayed.
    static func open(_ configuration: ServerConfiguration, into keyspace: Keyspace,
                     reportDamage: (LogDamage) -> Void) throws -> (LogWriter, StartupReport) {
        let directory = configuration.directory
        var report = StartupReport()
        let hasLog = (try? LogReader(directory: directory)) != nil
        if hasLog && configuration.recovery == .absolute {
            // Check before the writer opens: it would cut a torn tail that absolute must refuse.
            let summary = try refusing(directory) {
                try LogReader(directory: directory).forEachEntry(recovery: .absolute) { _ in }
            }
            _ = summary
        }
        if hasLog && configuration.recovery == .skipDamaged {
            let repair = try refusing(directory) { try LogRepair.repair(directory: directory, skipDamaged: true) }
            for damage in repair.damages { reportDamage(damage) }
            report.damages += repair.damages
        }
        let options = LogWriter.Options(durability: configuration.durability == .no ? .no : .everysec)
        let writer = try refusing(directory) { try LogWriter.open(directory: directory, options: options) }
        if let torn = writer.recoveredDamage {
            reportDamage(torn)
            report.damages.append(torn)
        }
        let started = Clock.nowMilliseconds()
        let collector = DamageCollector()
        let mode: RecoveryMode = configuration.recovery == .skipDamaged ? .tolerateTail : configuration.recovery
        do {
            let summary = try refusing(directory) {
                try LogReader(directory: directory).forEachEntry(recovery: mode, reporter: collector) { entry in
                    guard entry.kind == .command else { return }
                    let arguments = entry.arguments.map { Array($0) }
                    keyspace.apply(LoggedCommand(db: Int(entry.db), arguments: arguments),
                                   nowMilliseconds: entry.timestampMilliseconds)
                    report.entriesReplayed += 1
                }
            }
            if summary.lastSequence + 1 < writer.nextSequenceNumber, summary.recordCount > 0 || summary.stoppedAtDamage {
                let damage = collector.damages.first.map { $0.description } ?? "entries after #\(summary.lastSequence) unreadable"
                throw ServerStartupError(
                    "the log in \(directory) is damaged at \(damage); replay stopped at entry #\(summary.lastSequence) of "
                    + "#\(writer.nextSequenceNumber - 1). Run `rewind verify \(directory)` to list all damage, then "
                    + "`rewind repair --skip-damaged \(directory)` (or start with --recovery skip-damaged) to keep the good entries")
            }
        } catch {
            try? writer.close()
            throw error
        }
        report.replayMilliseconds = Clock.nowMilliseconds() - started
        return (writer, report)
    }

    /// Turns a log error into a startup refusal that says what to run.
    private static func refusing<T>(_ directory: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LogError where error.code == .locked {
            throw ServerStartupError("the log in \(directory) is open in another process (another `rewind serve`?); stop it first")
        } catch let error as LogError {
            var message = "cannot open the log in \(directory): \(error)"
            if error.code == .damaged && !message.contains("rewind ") {
                message += ". Run `rewind verify \(directory)` to list all damage, and `rewind repair \(directory)` "
                    + "(add --skip-damaged to drop damaged records) before starting again"
            }
            throw ServerStartupError(message)
        }
    }
}
