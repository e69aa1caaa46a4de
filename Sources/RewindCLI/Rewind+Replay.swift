import ArgumentParser
import Dispatch
import Foundation
import Logging
import RewindEngine
import RewindLog
import RewindReplay
import RewindServer

extension Rewind {
    /// `rewind replay LOG`: rebuild the state at a point of the log and summarize it.
    public struct Replay: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Rebuild the data set at any point of a log and print its summary and digest.",
            discussion: """
                Entries are applied in order, each at its own logged time, into the in-memory engine; the log is never \
                modified. Stopping points are inclusive, and a transaction is applied whole or not at all. The digest \
                is the one redis-server's DEBUG DIGEST prints for the same data. Exit codes: 0 replayed; 1 the log is \
                damaged or unreadable, --until is beyond its end, --exclude names no command of it, --check found a \
                checkpoint digest or a reply hash that differs (each reported, oldest first, before the summary), or \
                --serve cannot listen; 2 usage errors. With --serve \
                the state is then served read-only (writes get -READONLY; the clock is frozen at the last entry's time, \
                so nothing expires) until SIGINT, SIGTERM or SHUTDOWN.
                """)

        @OptionGroup var location: LogArgument

        @Option(help: ArgumentHelp("Stop after this sequence number.", valueName: "seq"))
        var until: UInt64?

        @Option(help: ArgumentHelp("Stop after the last entry at or before this time (ISO 8601 or Unix milliseconds).", valueName: "time"))
        var untilTime: String?

        @Option(help: ArgumentHelp("Skip these entries (comma-separated sequence numbers).", valueName: "seq,..."))
        var exclude: String?

        @Option(help: ArgumentHelp("Skip every command with one of these names, such as FLUSHALL.", valueName: "name,..."))
        var excludeCommand: String?

        @Option(help: ArgumentHelp("Apply only the entries of this database.", valueName: "db"))
        var onlyDb: Int?

        @Option(help: ArgumentHelp("Apply only commands on keys that match this glob, as KEYS matches, and keyless ones.", valueName: "pattern"))
        var onlyKeys: String?

        @Option(help: ArgumentHelp("Write the rebuilt data set to this file as a Redis AOF.", valueName: "file"))
        var toAof: String?

        @Option(help: ArgumentHelp("Write the rebuilt data set as a new Rewind log in this directory.", valueName: "dir"))
        var toLog: String?

        @Flag(help: "Compare the state with the digest of every checkpoint entry and each reply with the reply hash logged with its entry; report the first of each that differs and exit 1.")
        var check = false

        @Option(help: ArgumentHelp("Send the entries to this running server instead, pipelined: redis://[user:pass@]host:port[/db].", valueName: "url"))
        var target: String?

        @Flag(help: "With --target: the target is a Redis Cluster; route each entry to the master of its key slot.")
        var cluster = false

        @Option(help: ArgumentHelp("With --target: start at this sequence number (to resume after a stop).", valueName: "seq"))
        var from: UInt64?
        @Option(help: ArgumentHelp("Then serve the state read-only to Redis clients on this address (port 0 picks a free one) until SIGINT, SIGTERM or SHUTDOWN.", valueName: "host:port"))
        var serve: String?

        @OptionGroup var format: JSONOption
        @OptionGroup var recoveryOptions: RecoveryOptions

        public init() {}

        public func validate() throws {
            if target == nil && (cluster || from != nil) {
                throw ValidationError("Pass --cluster and --from only with --target.")
            }
            if target != nil && (until != nil || untilTime != nil || exclude != nil || excludeCommand != nil || onlyDb != nil
                                 || onlyKeys != nil || toAof != nil || toLog != nil || check || serve != nil) {
                throw ValidationError("Pass --target without --until, --until-time, --exclude, --exclude-command, --only-db, --only-keys, --to-aof, --to-log, --check or --serve: it sends the whole log from --from on.")
            }
            if from == 0 { throw ValidationError("Pass a --from of 1 or more: sequence numbers start at 1.") }
            if let serve, ServeAddress(serve) == nil {
                throw ValidationError("Pass --serve as HOST:PORT with a port from 0 to 65535, such as --serve 127.0.0.1:6380 ([::1]:6380 for IPv6).")
            }
            if until == 0 { throw ValidationError("Pass an --until of 1 or more: sequence numbers start at 1.") }
            if let onlyDb, onlyDb < 0 || onlyDb > 15 { throw ValidationError("Pass an --only-db from 0 to 15.") }
            if let exclude, (try? Self.sequences(exclude)) == nil {
                throw ValidationError("Pass --exclude as sequence numbers separated by commas, such as --exclude 120,121.")
            }
            if let excludeCommand, excludeCommand.split(separator: ",").isEmpty {
                throw ValidationError("Pass --exclude-command as command names separated by commas, such as --exclude-command FLUSHALL,FLUSHDB.")
            }
        }

        static func sequences(_ text: String) throws -> Set<UInt64> {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            struct Bad: Error {}
            let numbers = try parts.map { part -> UInt64 in
                guard let number = UInt64(part.trimmingCharacters(in: .whitespaces)), number > 0 else { throw Bad() }
                return number
            }
            return Set(numbers)
        }

        func options() throws -> ReplayOptions {
            var options = try baseOptions()
            options.checksCheckpoints = check
            options.checksReplyHashes = check
            return options
        }

        func baseOptions() throws -> ReplayOptions {
            ReplayOptions(
                untilSequence: until,
                untilTimestampMilliseconds: try untilTime.map(ReplayTime.parseMilliseconds),
                excludedSequences: try exclude.map(Self.sequences) ?? [],
                excludedCommands: Set((excludeCommand ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }),
                onlyDatabase: onlyDb,
                onlyKeys: try onlyKeys.map(KeyPattern.init),
                recovery: recoveryOptions.recovery)
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            if let target { return try replayIntoTarget(target, output: output) }
            // With --serve, a signal during the replay ends it at once instead of being lost.
            let signals = serve == nil ? nil : StopSignals(command: "rewind replay")
            let options = try options()
            let keyspace = Keyspace(randomSeed: 0)
            var summary = try Replayer(log: location.log).replay(into: keyspace, options: options, progress: { progress in
                output.progress("replay: \(progress.readEntryCount) entries, at #\(progress.lastSequence), \(Int(progress.seconds)) s")
            })
            output.endProgress()
            for damage in summary.damages { output.error("rewind: damage: \(damage)") }
            Replayer.summarizeState(of: keyspace, into: &summary)
            if let toAof {
                let written = try StateDump.writeAOF(of: keyspace, to: toAof)
                output.error("rewind: wrote \(counted(written.keyCount, "key", "keys")) as \(counted(written.commandCount, "command")) to \(toAof)")
            }
            if let toLog {
                let written = try StateDump.writeLog(of: keyspace, to: toLog, timestampMilliseconds: summary.lastTimestampMilliseconds)
                output.error("rewind: wrote \(counted(written.keyCount, "key", "keys")) as \(counted(written.commandCount, "entry")) to the log \(toLog)")
            }
            var reports: [(UInt64, Report)] = []
            if let mismatch = summary.replyMismatch {
                // The key's history takes a second replay up to the entry; without it the report
                // still names the entry and the two hashes.
                let detailed = (try? mismatch.withHistory(log: location.log, recovery: recoveryOptions.recovery)) ?? mismatch
                reports.append((mismatch.place.sequence, detailed.report()))
            }
            if let mismatch = summary.checkpointMismatch { reports.append((mismatch.place.sequence, mismatch.report())) }
            for (_, report) in reports.sorted(by: { $0.0 < $1.0 }) {
                output.write(report.rendered(format.json ? .json : .text))
                if !format.json { output.write("") }
            }
            output.write(format.json ? summary.json() : summary.text())
            let code: ExitCode = summary.checkpointMismatch == nil && summary.replyMismatch == nil ? .success : .failure
            if let serve, let address = ServeAddress(serve) {
                return try Self.serve(keyspace, summary: summary, at: address, signals: signals ?? StopSignals(command: "rewind replay"),
                                      output: output).rawValue != 0 ? .failure : code
            }
            return code
        }

        /// Serves the replayed state read-only until a signal or SHUTDOWN.
        static func serve(_ keyspace: Keyspace, summary: ReplaySummary, at address: ServeAddress, signals: StopSignals,
                          output: CommandOutput) throws -> ExitCode {
            var configuration = ServerConfiguration()
            configuration.bindAddress = address.host
            configuration.port = address.port
            var logger = Logger(label: "rewind.replay.serve")
            logger.logLevel = .warning
            let clock = summary.lastTimestampMilliseconds
            let server: RedisServer
            do {
                server = try RedisServer.startReadOnly(keyspace: keyspace, clockMilliseconds: clock, configuration: configuration, logger: logger)
            } catch let error as ServerStartupError {
                output.error("rewind replay: \(error.description)")
                return .failure
            }
            let point = summary.lastSequence == 0 ? "the empty state (no entry applied)"
                : "#\(summary.lastSequence) (\(EntryFormatting.isoTime(milliseconds: clock)))"
            output.error("rewind replay: serving \(point) read-only on \(address.display(port: server.port)); clock frozen at \(clock) ms; SIGINT, SIGTERM or SHUTDOWN stops")
            signals.serving { server.stop() }
            try server.waitUntilStopped()
            signals.cancel()
            output.error("rewind replay: stopped serving")
            return .success
        }
    }
}

extension Rewind.Replay {
    /// `--target`: pipeline the log into a live server or cluster and report where it stopped.
    func replayIntoTarget(_ url: String, output: CommandOutput) throws -> ExitCode {
        var options = LiveReplayOptions(target: try LiveTarget(url: url), cluster: cluster, fromSequence: from ?? 1,
                                        recovery: recoveryOptions.recovery)
        options.compares = true
        let report = try LiveReplayer.replay(log: location.log, options: options) { progress in
            output.progress("replay --target: \(progress.sentEntryCount) entries sent, at #\(progress.lastSequence), \(Int(progress.seconds)) s")
        }
        output.endProgress()
        output.write(format.json ? Self.json(report) : Self.text(report, log: location.log, url: url, cluster: cluster))
        if report.stop != nil { return .failure }
        if case .different = report.comparison { return .failure }
        return .success
    }

    static func text(_ report: LiveReplayReport, log: String, url: String, cluster: Bool) -> String {
        let nodes = counted(report.nodeCount, cluster ? "master" : "node")
        var lines = [String(format: "sent %@ from #%llu to %@ (%@): %@ acknowledged, last #%llu, in %.2f s (%.0f entries/s); %d MOVED, %d ASK followed",
                            counted(report.sentEntryCount, "entry"), report.firstSequence, report.target, nodes,
                            counted(report.acknowledgedEntryCount, "entry"), report.lastSequence, report.seconds,
                            report.entriesPerSecond, report.movedCount, report.askCount)]
        if let stop = report.stop {
            let what = stop.commandText.isEmpty ? "" : " \(stop.commandText)"
            lines.append("STOPPED at #\(stop.sequence)\(what): \(stop.reason)")
            var resume = "resume with: rewind replay \(log) --target \(url)\(cluster ? " --cluster" : "") --from \(stop.resumeFrom)"
            if stop.targetWentAway {
                resume += " (entries from #\(stop.resumeFrom) on were sent without a reply: some may have been applied and would apply again)"
            } else if stop.appliedAfterStopCount > 0 {
                resume += " (the \(counted(stop.appliedAfterStopCount, "entry")) after it were already applied, pipelined, and would apply again)"
            }
            lines.append(resume)
            return lines.joined(separator: "\n")
        }
        switch report.comparison {
        case .equal(let digest): lines.append("OK: the target's DEBUG DIGEST \(digest) equals the log's.")
        case .different(let logDigest, let targetDigest):
            lines.append("DIFFERENT: the log replays to \(logDigest), the target's DEBUG DIGEST is \(targetDigest) (did the target hold other data?).")
        case .note(let note): lines.append("note: \(note)")
        case .skipped: break
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ report: LiveReplayReport) -> String {
        var object = JSONObject()
        object.add("target", report.target)
        object.add("nodes", report.nodeCount)
        object.add("from_seq", report.firstSequence)
        object.add("last_seq", report.lastSequence)
        object.add("sent_entries", report.sentEntryCount)
        object.add("acknowledged_entries", report.acknowledgedEntryCount)
        object.add("seconds", report.seconds)
        object.add("entries_per_second", report.entriesPerSecond.rounded())
        object.add("moved", report.movedCount)
        object.add("ask", report.askCount)
        if let stop = report.stop {
            object.add("stopped", true)
            object.add("stop_seq", stop.sequence)
            object.add("stop_command", stop.commandText)
            object.add("stop_reason", stop.reason)
            object.add("resume_from", stop.resumeFrom)
            object.add("applied_after_stop", stop.appliedAfterStopCount)
            object.add("target_went_away", stop.targetWentAway)
        } else {
            object.add("stopped", false)
        }
        switch report.comparison {
        case .equal(let digest):
            object.add("comparison", "equal")
            object.add("digest", digest)
        case .different(let logDigest, let targetDigest):
            object.add("comparison", "different")
            object.add("digest", logDigest)
            object.add("target_digest", targetDigest)
        case .note(let note):
            object.add("comparison", "note")
            object.add("note", note)
        case .skipped:
            object.add("comparison", "skipped")
        }
        return object.text
    }
}

/// `--serve HOST:PORT`: a host name or IPv4 address, or an IPv6 address in brackets, then a port.
struct ServeAddress: Equatable {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2 { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:6380`, `[::1]:6380`, with the port actually bound.
    func display(port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
