import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

/// Truncations and byte flips of real RDB files never trap: each is read to the end or refused
/// with an `RDBError`. The large run is `rewind-rdb-bench --fuzz` in tools/.
@Suite("RDB fuzzing")
struct RDBFuzzTests {
    /// Reads `bytes` with and without the checksum check, and through the import's direct
    /// encoding (entries encoded, then dropped); returns whether the checked read and the import
    /// both failed.
    static func readNeverTraps(_ bytes: [UInt8]) -> Bool {
        var importFailed = false
        do {
            _ = try bytes.withUnsafeBufferPointer {
                try RDBImporter.encodeRDB($0, displayName: "fuzz.rdb", options: .init(skipsStreams: true), progress: { _ in }) { $0.removeAll() }
            }
        } catch is RDBError {
            importFailed = true
        } catch {
            Issue.record("unexpected error type from the import: \(error)")
        }
        var checkedFailed = false
        for verifies in [true, false] {
            do {
                _ = try bytes.withUnsafeBufferPointer {
                    try RDBReader.read($0, fileName: "fuzz.rdb", options: .init(skipsStreams: true, verifiesChecksum: verifies)) { _ in }
                }
            } catch is RDBError {
                if verifies { checkedFailed = true }
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
        return checkedFailed && importFailed
    }

    static func mutations(of file: [UInt8], seed: UInt64, count: Int) {
        var random = SeededGenerator(seed: seed)
        // Every cut is an error: the EOF opcode or the trailer is missing.
        var cuts = Array(Swift.max(0, file.count - 64)..<file.count)
        for _ in 0..<count { cuts.append(Int.random(in: 0..<file.count, using: &random)) }
        for cut in cuts {
            #expect(readNeverTraps(Array(file[..<cut])), "a cut at \(cut) was accepted")
        }
        // Every single-byte change is caught by the CRC-64 (or earlier by the parser); unchecked
        // reads of the same bytes must still not trap.
        for _ in 0..<count {
            var flipped = file
            let index = Int.random(in: 0..<file.count, using: &random)
            flipped[index] ^= UInt8.random(in: 1...255, using: &random)
            #expect(readNeverTraps(flipped), "a change at \(index) was accepted")
        }
        // Random overwrites of a few bytes at once, including lengths set to huge values.
        for _ in 0..<count {
            var damaged = file
            let start = Int.random(in: 9..<file.count, using: &random)
            for offset in 0..<Swift.min(4, file.count - start) { damaged[start + offset] = [0xFF, 0x80, 0x81, 0xC3, 0x00].randomElement(using: &random)! }
            _ = readNeverTraps(damaged)
        }
    }

    @Test("Hand-built file of older encodings: truncations and flips never trap")
    func handBuilt() {
        Self.mutations(of: RDBFormatTests.olderEncodingsFile(), seed: 1, count: 300)
    }

    @Test("A redis-server 7.0 RDB of every encoding: truncations and flips never trap", .enabled(if: RedisProcess.isAvailable))
    func realFile() throws {
        let directory = try TemporaryDirectory()
        let server = try RDBRedisTests.loadedServer(in: directory.appending("redis"), limits: RDBDataSet.highLimits, seed: 21)
        _ = try server.cli(["SAVE"])
        server.stop()
        let file = Array(FileManager.default.contents(atPath: directory.appending("redis/dump.rdb"))!)
        Self.mutations(of: file, seed: 2, count: 150)
        let low = try RDBRedisTests.loadedServer(in: directory.appending("low"), limits: RDBDataSet.lowLimits, seed: 22)
        _ = try low.cli(["SAVE"])
        low.stop()
        Self.mutations(of: Array(FileManager.default.contents(atPath: directory.appending("low/dump.rdb"))!), seed: 3, count: 150)
    }
}
