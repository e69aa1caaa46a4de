import ArgumentParser
import Foundation
import Logging
import RewindEngine
import RewindLog
import RewindReplay
import RewindRESP
import RewindServer

extension Rewind {
    /// `rewind bisect`: git bisect for command logs.
    public struct Bisect: ParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Find the first entry after which a check fails, and shrink the log to a minimal reproducer.",
            discussion: """
                `rewind bisect LOG ...` is `rewind bisect start LOG ...`. The last search is saved as a session \
                (--session, ./rewind-bisect.log by default): `rewind bisect log` prints it and `rewind bisect replay FILE` \
                runs it again, reusing its verdicts. Exit codes: 0 found; 1 the log is damaged or unreadable, or the \
                bounds or session are bad; 2 usage errors; 3 the check is bad at the start; 4 the check is good at the \
                end; 5 only skipped points are left (the answer is a range); 6 the check could not run (a command that \
                cannot start or exits beyond 127, a reference server that cannot be reached or goes away).
                """,
            subcommands: [Start.self, SessionLog.self, SessionReplay.self],
            defaultSubcommand: Start.self)

        public init() {}

        /// The exit codes of `rewind bisect`, beyond 0, 1 and 2 (docs/CLI.md).
        static let badAtStartCode = ExitCode(3)
        static let goodAtEndCode = ExitCode(4)
        static let onlySkippedCode = ExitCode(5)
        static let checkFailedCode = ExitCode(6)

        static let defaultSessionPath = "rewind-bisect.log"
    }
}

extension Rewind.Bisect {
    /// `rewind bisect start LOG`: the search itself.
    public struct Start: RewindCommand {
        public static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Find the first entry of a log after which the check fails.",
            discussion: """
                Checks (all given must hold for a state to be good): --probe CMD with --expect REPLY (as redis-cli \
                prints it: '"alice"', '(integer) 3', '(nil)'), --expect-json JSON, --expect-error [TEXT] or --expect-nil, \
                each after its --probe; --run CMD (git bisect run's exit codes: 0 good, 125 skip, 1-127 bad, anything \
                else aborts; the state is served read-only at REWIND_HOST:REWIND_PORT, REWIND_SEQ is the entry); \
                --against HOST:PORT (replay into a reference server and compare replies and DEBUG DIGEST); --recorded \
                (the reply hashes and checkpoint digests in the log). Probes run in one forward pass; --run uses a \
                binary search over states moved forward by replay and back by undo or checkpoints (docs/BISECT.md).
                """)

        @OptionGroup var location: LogArgument

        @Option(help: ArgumentHelp("Run this read command on each state (repeatable; each is followed by its expectation).", valueName: "command"))
        var probe: [String] = []

        @Option(help: ArgumentHelp("The probe's reply as redis-cli prints it, such as '\"alice\"' or '(integer) 3'.", valueName: "reply"))
        var expect: [String] = []

        @Option(help: ArgumentHelp("The probe's reply as JSON, such as '\"alice\"', 3, null or [\"a\",\"b\"].", valueName: "json"))
        var expectJson: [String] = []

        @Option(help: ArgumentHelp("The probe must reply with an error (containing TEXT when given).", valueName: "text"))
        var expectError: [String] = []

        @Flag(help: "The probe must reply (nil).")
        var expectNil: Int

        @Option(help: ArgumentHelp("Run the probes in this database.", valueName: "db"))
        var db: Int = 0

        @Option(help: ArgumentHelp("Run this shell command against each state probed (git bisect run's exit codes).", valueName: "command"))
        var run: String?

        @Option(help: ArgumentHelp("Replay into this reference server too and report the first entry whose reply or digest differs.", valueName: "host:port"))
        var against: String?

        @Option(help: ArgumentHelp("With --against: compare DEBUG DIGEST every this many entries (and at the end).", valueName: "count"))
        var digestEvery: Int = 10_000

        @Flag(help: "Check the reply hashes and checkpoint digests recorded in the log.")
        var recorded = false

        @Option(help: ArgumentHelp("A sequence number known to be good (0: the empty state).", valueName: "seq"))
        var lastGood: UInt64 = 0

        @Option(help: ArgumentHelp("A sequence number known to be bad (default: the end of the log).", valueName: "seq"))
        var firstBad: UInt64?

        @Option(help: ArgumentHelp("Words for good and bad in the report, as git bisect --term-old/--term-new.", valueName: "old,new"))
        var terms: String?

        @Option(help: ArgumentHelp("A point is bad only when the check fails this many times out of this many.", valueName: "n"))
        var retries: Int = 1

        @Option(help: ArgumentHelp("Then write the smallest log that still fails the check (--probe, --run or --against) to this directory.", valueName: "dir"))
        var shrink: String?

        @Flag(help: "With --shrink: rename keys and values to neutral names while the check still fails.")
        var anonymize = false

        @Option(help: ArgumentHelp("Save the session to this file.", valueName: "file"))
        var session: String = Rewind.Bisect.defaultSessionPath

        @OptionGroup var format: JSONOption
        @OptionGroup var recoveryOptions: RecoveryOptions

        /// Verdicts from a replayed session.
        var knownVerdicts: [UInt64: Verdict] = [:]

        public init() {}

        enum CodingKeys: String, CodingKey {
            case location, probe, expect, expectJson, expectError, expectNil, db, run, against, digestEvery, recorded
            case lastGood, firstBad, terms, retries, shrink, anonymize, session, format, recoveryOptions
        }

        public func validate() throws {
            let kinds = (probe.isEmpty ? 0 : 1) + (run == nil ? 0 : 1) + (against == nil ? 0 : 1) + (recorded ? 1 : 0)
            if kinds == 0 { throw ValidationError("Give a check: --probe CMD --expect REPLY, --run CMD, --against HOST:PORT or --recorded.") }
            if !probe.isEmpty && run != nil { throw ValidationError("Use --probe or --run, not both: probes run in one pass, --run by binary search.") }
            if (against != nil || recorded) && kinds > 1 { throw ValidationError("--against and --recorded are checks of their own; give no other check with them.") }
            let expectations = expect.count + expectJson.count + expectError.count + expectNil
            if expectations != probe.count { throw ValidationError("Give each --probe one expectation (--expect, --expect-json, --expect-error or --expect-nil) right after it.") }
            if retries < 1 { throw ValidationError("Pass a --retries of 1 or more.") }
            if let firstBad, firstBad <= lastGood { throw ValidationError("--first-bad must be after --last-good.") }
            if let terms, terms.split(separator: ",").count != 2 { throw ValidationError("Pass --terms as two words separated by a comma, such as --terms old,new.") }
            if db < 0 || db > 15 { throw ValidationError("Pass a --db from 0 to 15.") }
            if let against, ServeAddress(against) == nil { throw ValidationError("Pass --against as HOST:PORT, such as 127.0.0.1:6379.") }
            if digestEvery < 1 { throw ValidationError("Pass a --digest-every of 1 or more.") }
            if anonymize && shrink == nil { throw ValidationError("--anonymize works with --shrink.") }
            if shrink != nil && recorded {
                throw ValidationError("--shrink works with --probe, --run and --against: a recorded reply hash belongs to its original log, so any shorter log would trivially differ from it.")
            }
        }

        func options() -> BisectOptions {
            var options = BisectOptions()
            options.lastGood = lastGood
            options.firstBad = firstBad
            options.retries = retries
            options.recovery = recoveryOptions.recovery
            options.knownVerdicts = knownVerdicts
            if let terms {
                let words = terms.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
                options.goodTerm = words[0]
                options.badTerm = words[1]
            }
            return options
        }

        /// The probes, each paired with the expectation that follows it on the command line.
        func probes() throws -> [Probe] {
            let ordered = BisectArguments.expectationsInOrder(Rewind.rawArguments)
            var expectations: [Expectation]
            if ordered.count == probe.count {
                expectations = ordered
            } else {
                // Parsed without the raw command line: pair by kind, in the order of the kinds.
                expectations = expect.map { .notation($0) } + expectJson.map { .json($0) }
                    + expectError.map { .error($0.isEmpty ? nil : $0) } + Array(repeating: .null, count: expectNil)
            }
            return try zip(probe, expectations).map { try Probe(command: $0, db: db, expectation: $1) }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let options = options()
            let log = location.log
            let result: BisectResult
            var check: StateCheck?
            var comparison: ReferenceComparison?
            var summary: String
            do {
                if let against, let address = ServeAddress(against) {
                    let reference = ReferenceComparison(host: address.host, port: address.port, digestEveryEntryCount: digestEvery)
                    comparison = reference
                    summary = "replies and DEBUG DIGEST equal to \(against)'s"
                    result = try reference.run(log: log, options: options, progress: { output.progress($0) })
                } else if recorded {
                    summary = "replies and digests equal to those recorded in the log"
                    result = try RecordedComparison.run(log: log, options: options, replyHash: ReplyHash.of)
                } else if let run {
                    let external = ExternalCheck(command: run, serve: Self.serveReadOnly)
                    check = external
                    summary = external.summary
                    result = try Bisector.binarySearch(log: log, check: external, options: options, progress: { output.progress($0) })
                } else {
                    let probeCheck = ProbeCheck(probes: try probes())
                    check = probeCheck
                    summary = probeCheck.summary
                    result = try Bisector.forwardPass(log: log, check: probeCheck, options: options, progress: { output.progress($0) })
                }
            } catch let error as BisectError {
                output.endProgress()
                output.error("rewind bisect: \(error.message)")
                switch error.code {
                case .badAtStart: return Rewind.Bisect.badAtStartCode
                case .goodAtEnd: return Rewind.Bisect.goodAtEndCode
                case .checkFailed: return Rewind.Bisect.checkFailedCode
                case .badProbe: return ExitCode(Rewind.usageErrorCode)
                default: return .failure
                }
            }
            output.endProgress()
            try? BisectSession(arguments: Rewind.rawArguments.isEmpty ? [] : Array(Rewind.rawArguments.drop { $0 == "bisect" || $0 == "start" }),
                               steps: result.steps, firstBad: result.firstBad).write(to: session)
            var history: KeyHistory?
            if let decisive = result.decisive {
                history = try KeyHistory.before(decisive, log: log, recovery: options.recovery)
            }
            output.write(result.report(check: summary, history: history, options: options).rendered(format.json ? .json : .text))
            guard let firstBad = result.firstBad else { return Rewind.Bisect.onlySkippedCode }
            if let shrink, check != nil || comparison != nil {
                do {
                    let shrunk: ShrinkResult
                    if let check {
                        shrunk = try Shrinker.shrink(log: log, upTo: firstBad, check: check, recovery: options.recovery,
                                                     anonymize: anonymize, progress: { output.progress($0) })
                    } else {
                        let reference = comparison!
                        defer { reference.finish() }
                        shrunk = try Shrinker.shrink(log: log, upTo: firstBad, recovery: options.recovery, anonymize: anonymize,
                                                     reproduces: { try reference.reproduces($0) }, progress: { output.progress($0) })
                    }
                    output.endProgress()
                    try shrunk.write(to: shrink)
                    output.error("rewind bisect: shrink: \(shrunk.summaryLine) written to \(shrink)")
                    if let rewritten = shrunk.anonymizedCheck { output.error("rewind bisect: shrink: the check on the anonymized log: \(rewritten)") }
                } catch let error as BisectError {
                    output.endProgress()
                    output.error("rewind bisect: shrink: \(error.message)")
                    return error.code == .checkFailed ? Rewind.Bisect.checkFailedCode : .failure
                }
            }
            return .success
        }

        /// Serves a state with the server's read-only mode, on a free loopback port.
        static func serveReadOnly(_ keyspace: Keyspace, _ clockMilliseconds: Int64) throws -> ExternalCheck.Served {
            var configuration = ServerConfiguration()
            configuration.bindAddress = "127.0.0.1"
            configuration.port = 0
            var logger = Logger(label: "rewind.bisect.serve")
            logger.logLevel = .warning
            let server: RedisServer
            do {
                server = try RedisServer.startReadOnly(keyspace: keyspace, clockMilliseconds: clockMilliseconds,
                                                       configuration: configuration, logger: logger)
            } catch {
                throw BisectError(.checkFailed, "cannot serve the state on 127.0.0.1: \(error)")
            }
            return ExternalCheck.Served(port: server.port, stop: {
                server.stop()
                try? server.waitUntilStopped()
            })
        }
    }

    /// `rewind bisect log`: the saved session.
    public struct SessionLog: RewindCommand {
        public static let configuration = CommandConfiguration(
            commandName: "log",
            abstract: "Print the saved bisect session (the points judged and their verdicts).")

        @Option(help: ArgumentHelp("Read the session from this file.", valueName: "file"))
        var session: String = Rewind.Bisect.defaultSessionPath

        public init() {}

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            guard let text = try? String(contentsOfFile: session, encoding: .utf8) else {
                output.error("rewind bisect log: no session at \(session); run rewind bisect first")
                return .failure
            }
            output.write(text.hasSuffix("\n") ? String(text.dropLast()) : text)
            return .success
        }
    }

    /// `rewind bisect replay FILE`: run a saved session again, reusing its verdicts.
    public struct SessionReplay: RewindCommand {
        public static let configuration = CommandConfiguration(
            commandName: "replay",
            abstract: "Run a saved bisect session again, reusing its verdicts instead of running the check at those points.")

        @Argument(help: ArgumentHelp("The session file (as `rewind bisect log` prints it).", valueName: "file"))
        var file: String

        public init() {}

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let saved: BisectSession
            do {
                saved = try BisectSession.read(from: file)
            } catch let error as BisectError {
                output.error("rewind bisect replay: \(error.message)")
                return .failure
            }
            guard !saved.arguments.isEmpty else {
                output.error("rewind bisect replay: \(file) names no arguments to run again")
                return .failure
            }
            var start = try Start.parse(saved.arguments)
            for step in saved.steps { start.knownVerdicts[step.sequence] = step.verdict }
            let arguments = ["bisect", "start"] + saved.arguments
            return try Rewind.$rawArguments.withValue(arguments) { try start.execute(output) }
        }
    }
}

/// The bisect arguments as typed, in order, for pairing each --probe with its expectation.
enum BisectArguments {
    /// `--expect-error` with no text gets an empty one, so the parser sees a value.
    static func normalized(_ arguments: [String]) -> [String] {
        guard arguments.first == "bisect" else { return arguments }
        var result: [String] = []
        for (index, argument) in arguments.enumerated() {
            result.append(argument)
            if argument == "--expect-error" {
                let next = index + 1 < arguments.count ? arguments[index + 1] : nil
                if next == nil || next!.hasPrefix("--") { result.append("") }
            }
        }
        return result
    }

    /// The expectations in the order they were typed.
    static func expectationsInOrder(_ arguments: [String]) -> [Expectation] {
        var result: [Expectation] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            func value(_ name: String) -> String? {
                if argument == name, index + 1 < arguments.count { index += 1; return arguments[index] }
                if argument.hasPrefix(name + "=") { return String(argument.dropFirst(name.count + 1)) }
                return nil
            }
            if argument == "--expect-nil" {
                result.append(.null)
            } else if let text = value("--expect-json") {
                result.append(.json(text))
            } else if let text = value("--expect-error") {
                result.append(.error(text.isEmpty ? nil : text))
            } else if let text = value("--expect") {
                result.append(.notation(text))
            }
            index += 1
        }
        return result
    }
}
