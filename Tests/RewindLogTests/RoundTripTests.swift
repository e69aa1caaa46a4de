import Testing
@testable import RewindLog
import RewindTestSupport

@Suite("Log round trip")
struct RoundTripTests {
    @Test("Random entries come back exactly, across rotations and the dictionary switch", arguments: DurabilityPolicy.allCases)
    func randomEntriesRoundTrip(policy: DurabilityPolicy) throws {
        let directory = try TemporaryDirectory()
        var generator = SeededGenerator(seed: 42)
        let entries = (0..<3000).map { index in RandomEntries.entry(index: index, using: &generator) }
        let options = LogWriter.Options(
            durability: policy, segmentByteCountTarget: 32 * 1024, dictionarySampleEntryCount: 500)
        let writer = try LogWriter.open(directory: directory.path, options: options)
        var sequence: UInt64 = 1
        for (index, entry) in entries.enumerated() {
            if index % 97 == 0 {
                let range = try writer.append(contentsOf: [entry], transaction: true)
                #expect(range == sequence...(sequence + 2))
                sequence += 3
            } else {
                #expect(try writer.append(entry) == sequence)
                sequence += 1
            }
        }
        try writer.close()
        let reader = try LogReader(directory: directory.path)
        let (read, summary) = try reader.readAll()
        #expect(summary.damages.isEmpty)
        // At least the dictionary switch; how many size rotations follow depends on how big the batches grew.
        #expect(reader.manifest.segments.count >= 2)
        #expect(reader.manifest.dictionaries.count == 1)
        let commands = read.filter { $0.kind == .command }
        #expect(commands.count == entries.count)
        for (got, want) in zip(commands, entries) {
            #expect(got.arguments == want.arguments)
            #expect(got.timestampMilliseconds == want.timestampMilliseconds)
            #expect(got.db == want.db)
            #expect(got.replyHash == want.replyHash)
        }
        #expect(read.map(\.sequence) == Array(1...UInt64(read.count)))
        // Reading from the middle skips straight to the right entry.
        let middle = UInt64(read.count / 2)
        let tail = try reader.readAll(from: middle).entries
        #expect(tail.first?.sequence == middle)
        #expect(tail == Array(read[Int(middle - 1)...]))
    }
}
