import Testing
@testable import RewindLog
import RewindTestSupport

@Suite("Log round trip")
struct RoundTripTests {
    @Test("A dictionary trained in the background is switched to after its training, and every entry reads back")
    func backgroundDictionaryTraining() throws {
        let directory = try TemporaryDirectory()
        var generator = SeededGenerator(seed: 43)
        let options = LogWriter.Options(durability: .everysec, dictionarySampleEntryCount: 500, trainsDictionaryInBackground: true)
        let writer = try LogWriter.open(directory: directory.path, options: options)
        var entries: [LogEntry] = []
        // Appending goes on while the dictionary trains; it is in use once a later record is written.
        let deadline = FileIO.monotonicNanoseconds() + 20_000_000_000
        while (try ManifestStore.load(directory: directory.path)).dictionaries.isEmpty && FileIO.monotonicNanoseconds() < deadline {
            let entry = RandomEntries.entry(index: entries.count, using: &generator)
            _ = try writer.append(entry)
            entries.append(entry)
            if entries.count % 100 == 0 { try writer.waitUntilWritten(UInt64(entries.count)) }
        }
        let manifest = try ManifestStore.load(directory: directory.path)
        #expect(manifest.dictionaries.count == 1)
        #expect(manifest.segments.last?.firstSequence ?? 0 > 500)  // the switch came after the samples
        for index in 0..<200 {
            let entry = RandomEntries.entry(index: entries.count + index, using: &generator)
            _ = try writer.append(entry)
            entries.append(entry)
        }
        try writer.close()
        let reader = try LogReader(directory: directory.path)
        let (read, summary) = try reader.readAll()
        #expect(summary.damages.isEmpty)
        #expect(read.filter { $0.kind == .command }.map(\.arguments) == entries.map(\.arguments))

        // Closed while training: nothing is installed, nothing is lost, and a reopened writer goes on.
        let other = try TemporaryDirectory()
        let closing = try LogWriter.open(directory: other.path, options: options)
        for index in 0..<600 { _ = try closing.append(RandomEntries.entry(index: index, using: &generator)) }
        try closing.close()
        let reopened = try LogWriter.open(directory: other.path, options: options)
        #expect(reopened.nextSequenceNumber == 601)
        try reopened.close()
        #expect(try LogReader(directory: other.path).readAll().0.count == 600)
    }

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
