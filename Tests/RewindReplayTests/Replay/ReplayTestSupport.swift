import Foundation
import RewindEngine
import RewindLog
@testable import RewindReplay
import RewindTestSupport

/// One unit of a hand-written test log: a command, or a transaction of commands.
enum TestUnit {
    case command([String], db: UInt32 = 0, at: Int64 = 1_700_000_000_000)
    case transaction([[String]], db: UInt32 = 0, at: Int64 = 1_700_000_000_000)
}

/// Writes `units` as a log at `path`, one record per unit.
func writeTestLog(at path: String, _ units: [TestUnit]) throws {
    let writer = try LogWriter.open(directory: path, options: .init(durability: .no, trainsDictionary: false))
    for unit in units {
        switch unit {
        case .command(let arguments, let db, let at):
            try writer.append(.command(arguments, at: at, db: db))
        case .transaction(let commands, let db, let at):
            try writer.append(contentsOf: commands.map { LogEntry.command($0, at: at, db: db) }, transaction: true)
        }
        try writer.sync()
    }
    try writer.close()
}

/// Replays `log` into a fresh keyspace and returns the keyspace and the summary with its digest.
func replayed(_ log: String, _ options: ReplayOptions = ReplayOptions()) throws -> (Keyspace, ReplaySummary) {
    let keyspace = Keyspace(randomSeed: 0)
    var summary = try Replayer(log: log).replay(into: keyspace, options: options)
    Replayer.summarizeState(of: keyspace, into: &summary)
    return (keyspace, summary)
}

/// The string value of `key`, read through the engine.
func stringValue(_ keyspace: Keyspace, _ key: String, db: Int = 0) -> String? {
    guard case .string(let bytes)? = StateReader(keyspace: keyspace).read(Array(key.utf8), db: db)?.value else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

extension RedisProcess {
    /// Starts a server that loads `aofPath`, deletes `deleting` (db, key) pairs, and returns DEBUG DIGEST.
    static func digestOfLoading(aofFile aofPath: String, in scratch: String, deleting: [(Int, String)]) throws -> String {
        let directory = scratch + "/load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: aofPath, toPath: directory + "/appendonly.aof")
        let server = try RedisProcess(directory: directory, arguments: ["--appendonly", "yes", "--appendfilename", "appendonly.aof"])
        defer { server.stop() }
        if !deleting.isEmpty { try server.pipe(deleting.map { "SELECT \($0.0)\nDEL \"\($0.1)\"\n" }.joined()) }
        return try server.digest()
    }
}

extension RedisProcess {
    /// Feeds `commands` (one per line, in redis-cli's quoting) to one redis-cli process.
    func pipe(_ commands: String) throws {
        _ = try Subprocess.run("/usr/bin/redis-cli", ["-p", String(port)], input: .bytes(Array(commands.utf8)), timeout: 600)
    }
}
