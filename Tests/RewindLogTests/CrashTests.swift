import Foundation
import Testing
@testable import RewindLog
import RewindTestSupport

/// A child appending under `always` is killed with SIGKILL at seeded random moments; every append
/// it acknowledged is read back, sequence numbers stay dense, and a writer reopens the log.
@Suite("Crash", .serialized)
struct CrashTests {
    struct Totals {
        var rounds = 0
        var acknowledged = 0
        var tornTails = 0
    }

    /// Kills the child `rounds` times on one log, checking the log after each.
    static func crashRounds(writers: Int, rounds: Int, seed: UInt64) throws -> Totals {
        let executable = try AppendChild.executable()
        let directory = try TemporaryDirectory(prefix: "rewind-crash")
        let log = directory.appending("log.rwlog")
        var generator = SeededGenerator(seed: seed)
        var acknowledged: [UInt64: AppendChild.Acknowledgement] = [:]
        var totals = Totals()
        var markers: Set<UInt64> = []
        for round in 0..<rounds {
            let delay = Int.random(in: 100...400, using: &generator)
            let afterFirstAck = round % 2 == 1 || round == 0
            let run = try AppendChild.runAndKill(
                executable: executable, log: log, policy: "always", writers: writers, seed: seed &* 100 &+ UInt64(round),
                delayMilliseconds: delay, afterFirstAck: afterFirstAck, outputDirectory: directory.path)
            let context = "\(writers) writers, round \(round), killed after \(delay) ms"
            #expect(run.killed, "\(context): the child exited by itself (status \(run.terminationStatus)): \(run.errorOutput)")
            #expect(!run.acknowledgements.contains { $0.writer < 0 }, "\(context): malformed acknowledgement line")
            if afterFirstAck { #expect(!run.acknowledgements.isEmpty, "\(context): nothing acknowledged") }
            for ack in run.acknowledgements where ack.writer >= 0 {
                #expect(acknowledged[ack.sequence] == nil, "\(context): #\(ack.sequence) acknowledged twice")
                acknowledged[ack.sequence] = ack
            }
            totals.acknowledged += run.acknowledgements.count
            totals.rounds += 1
            guard FileManager.default.fileExists(atPath: log + "/MANIFEST") else {
                #expect(run.acknowledgements.isEmpty, "\(context): acknowledged appends but left no log")
                continue
            }
            // Read: at most a torn tail, dense sequence numbers, every acknowledged entry as written.
            let outcome = LogFixture.read(directory: log, recovery: .tolerateTail)
            #expect(outcome.error == nil, "\(context): \(String(describing: outcome.error))")
            #expect(outcome.reported.allSatisfy { $0.kind == .tornTail }, "\(context): \(outcome.reported)")
            #expect(outcome.reported.count <= 1)
            if !outcome.reported.isEmpty { totals.tornTails += 1 }
            let entries = outcome.entries
            #expect(entries.map(\.sequence) == Array(stride(from: 1, through: UInt64(entries.count), by: 1)), "\(context): sequence numbers not dense")
            let lastSequence = UInt64(entries.count)
            for (sequence, ack) in acknowledged {
                guard sequence <= lastSequence else {
                    Issue.record("\(context): acknowledged #\(sequence) lost (log ends at #\(lastSequence))")
                    continue
                }
                let entry = entries[Int(sequence - 1)]
                #expect(entry.arguments == [Array("SET".utf8), ack.key, ack.value], "\(context): #\(sequence) reads back differently")
                #expect(entry.timestampMilliseconds == Int64(ack.counter))
            }
            for sequence in markers where sequence <= lastSequence {
                #expect(entries[Int(sequence - 1)].arguments.first == Array("MARK".utf8))
            }
            // Reopen for append: the torn tail (if any) is cut, the next number follows the last.
            let writer = try LogWriter.open(directory: log, options: .init(durability: .always))
            #expect(writer.recoveredDamage?.kind == outcome.reported.first?.kind)
            #expect(writer.recoveredDamage?.byteOffset == outcome.reported.first?.byteOffset)
            #expect(writer.recoveredDamage?.byteCount == outcome.reported.first?.byteCount)
            #expect(writer.nextSequenceNumber == lastSequence + 1)
            let marker = try writer.append(.command(["MARK", "round \(round)"], at: 0))
            #expect(marker == lastSequence + 1)
            markers.insert(marker)
            try writer.close()
            let clean = LogFixture.read(directory: log, recovery: .absolute)
            #expect(clean.error == nil, "\(context): after reopening: \(String(describing: clean.error))")
            #expect(clean.reported.isEmpty)
            #expect(clean.entries.count == entries.count + 1)
            #expect(clean.entries.map(\.sequence) == Array(stride(from: 1, through: marker, by: 1)))
            // The child's next run continues after the marker: acknowledged numbers never repeat.
        }
        return totals
    }

    @Test("SIGKILL under `always` with 1 writer loses nothing acknowledged (5 rounds)")
    func oneWriter() throws {
        let totals = try Self.crashRounds(writers: 1, rounds: 5, seed: 11)
        #expect(totals.rounds == 5)
        #expect(totals.acknowledged > 0)
        print("crash 1 writer: \(totals.rounds) rounds, \(totals.acknowledged) acknowledged appends verified, \(totals.tornTails) torn tails")
    }

    @Test("SIGKILL under `always` with 8 writers sharing fsyncs loses nothing acknowledged (5 rounds)")
    func eightWriters() throws {
        let totals = try Self.crashRounds(writers: 8, rounds: 5, seed: 88)
        #expect(totals.rounds == 5)
        #expect(totals.acknowledged > 0)
        print("crash 8 writers: \(totals.rounds) rounds, \(totals.acknowledged) acknowledged appends verified, \(totals.tornTails) torn tails")
    }
}
