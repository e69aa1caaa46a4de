// Startup: open the log, replay it into a fresh keyspace under the chosen recovery mode, refuse
// damage with its place and the command to run. See docs/SERVER.md, "Crash recovery".

import RewindEngine
import RewindLog
import RewindReplay

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
    /// - point-in-time: replay stops at the first damage. A torn tail is cut as under
    ///   tolerate-tail; any other damage makes the log end just before it
    ///   (``LogRepair/cutAtFirstDamage(directory:)``: every cut byte is kept in a directory inside
    ///   the log), so new writes follow the last entry served instead of hiding behind a hole.
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
        if hasLog && configuration.recovery == .pointInTime {
            return try openAtPointInTime(configuration, into: keyspace, report: report, reportDamage: reportDamage)
        }
        let options = writerOptions(configuration)
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
                let (summary, applied) = try Replayer.applyEveryCommand(of: LogReader(directory: directory), recovery: mode,
                                                                         reporter: collector, into: keyspace)
                report.entriesReplayed += applied
                return summary
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

    /// point-in-time: replay up to the first damage; when that damage is not a torn tail, cut
    /// the log there (keeping the cut bytes aside), start over on an empty keyspace (a record that
    /// failed to decode may have delivered some of its entries) and replay the prefix again. A
    /// clean log is replayed once, as under tolerate-tail.
    private static func openAtPointInTime(_ configuration: ServerConfiguration, into keyspace: Keyspace,
                                          report: StartupReport,
                                          reportDamage: (LogDamage) -> Void) throws -> (LogWriter, StartupReport) {
        let directory = configuration.directory
        var report = report
        let started = Clock.nowMilliseconds()
        var summary = try replay(directory, recovery: .pointInTime, into: keyspace, report: &report)
        if summary.stoppedAtDamage, let damage = summary.damages.first, damage.kind != .tornTail {
            guard let cut = try refusing(directory, { try LogRepair.cutAtFirstDamage(directory: directory) }) else {
                throw ServerStartupError("the log in \(directory) changed while it was read (\(damage)); start again")
            }
            reportDamage(cut.damage)
            report.damages.append(cut.damage)
            report.pointInTimeCut = cut
            // FLUSHALL as a replayed entry empties every database without logging anything.
            keyspace.apply(LoggedCommand(db: 0, arguments: [Array("FLUSHALL".utf8)]), nowMilliseconds: 0)
            report.entriesReplayed = 0
            summary = try replay(directory, recovery: .pointInTime, into: keyspace, report: &report)
        }
        let options = writerOptions(configuration)
        let writer = try refusing(directory) { try LogWriter.open(directory: directory, options: options) }
        if let torn = writer.recoveredDamage {
            reportDamage(torn)
            report.damages.append(torn)
        }
        guard summary.lastSequence + 1 == writer.nextSequenceNumber || summary.recordCount == 0 else {
            try? writer.close()
            throw ServerStartupError(
                "the log in \(directory) ends at #\(writer.nextSequenceNumber - 1) but replay stopped at #\(summary.lastSequence)"
                + (summary.damages.first.map { " (\($0))" } ?? "") + ". Run `rewind verify \(directory)` to list all damage")
        }
        report.replayMilliseconds = Clock.nowMilliseconds() - started
        return (writer, report)
    }

    /// Applies every command entry the reader delivers under `recovery` to `keyspace`.
    private static func replay(_ directory: String, recovery: RecoveryMode, into keyspace: Keyspace,
                               report: inout StartupReport) throws -> LogReader.Summary {
        let (summary, applied) = try refusing(directory) {
            try Replayer.applyEveryCommand(of: LogReader(directory: directory), recovery: recovery, into: keyspace)
        }
        report.entriesReplayed += applied
        return summary
    }

    /// Turns a log error into a startup refusal that says what to run.
    /// The writer's options for the server's policy. The writer runs its `everysec` clock (or
    /// none, under `no`); under `always` the server commits and fdatasyncs each iteration itself
    /// (``DurabilityCommitter``), so it asks for the zeros `always` gets by default: each of those
    /// fdatasyncs then overwrites blocks already written (docs/FORMAT.md, "Preallocation"). The
    /// dictionary is trained in the background: the event loop writes records, and the training
    /// (28 ms here) stalled every client of that iteration.
    static func writerOptions(_ configuration: ServerConfiguration) -> LogWriter.Options {
        LogWriter.Options(durability: configuration.durability == .no ? .no : .everysec,
                          preallocationByteCount: configuration.durability == .always
                              ? LogWriter.Options.defaultPreallocationByteCount : 0,
                          trainsDictionaryInBackground: true)
    }

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
