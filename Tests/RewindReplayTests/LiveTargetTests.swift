import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

extension Tag {
    /// Tests that start a 3-master Redis Cluster (about ten seconds); skip with `--skip Cluster`
    /// or REWIND_SKIP_CLUSTER=1.
    @Tag static var cluster: Self
}

/// A log of `count` writes whose transactions keep to one hash slot, in database 0.
func writeClusterFriendlyLog(at path: String, count: Int, seed: UInt64 = 1) throws {
    let writer = try LogWriter.open(directory: path, options: .init(durability: .no))
    var random = SeededGenerator(seed: seed)
    let at: Int64 = 2_000_000_000_000
    for index in 0..<count {
        let n = Int(random.next() % 500)
        switch random.next() % 6 {
        case 0: try writer.append(.command(["SET", "user:\(n)", "name \(index)"], at: at))
        case 1: try writer.append(.command(["INCR", "counter:\(n % 50)"], at: at))
        case 2: try writer.append(.command(["HSET", "hash:\(n % 40)", "f\(n)", "\(index)"], at: at))
        case 3: try writer.append(.command(["RPUSH", "list:\(n % 30)", "\(index)"], at: at))
        case 4: try writer.append(.command(["ZADD", "zset:\(n % 20)", "\(index)", "m\(n)"], at: at))
        default:
            try writer.append(contentsOf: [.command(["SET", "{tx\(n % 10)}a", "\(index)"], at: at),
                                           .command(["SADD", "{tx\(n % 10)}b", "\(n)"], at: at)], transaction: true)
        }
    }
    try writer.close()
}

@Suite("Live replay into redis-server", .serialized, .enabled(if: RedisProcess.isAvailable))
struct LiveTargetTests {
    @Test("Target URLs: user, password, host, port, database; bad ones say what is wrong")
    func urls() throws {
        let full = try LiveTarget(url: "redis://alice:s%40cret@localhost:6390/2")
        #expect(full == LiveTarget(host: "localhost", port: 6390, user: "alice", password: "s@cret", database: 2))
        #expect(try LiveTarget(url: "redis://:pw@127.0.0.1:7000") == LiveTarget(host: "127.0.0.1", port: 7000, password: "pw"))
        #expect(try LiveTarget(url: "redis://[::1]:7000/") == LiveTarget(host: "::1", port: 7000))
        for bad in ["http://x:1", "redis://host", "redis://host:0", "redis://host:6379/16", "redis://:6379"] {
            #expect(throws: LiveReplayError.self) { try LiveTarget(url: bad) }
        }
        #expect(!"\(full)".contains("s@cret"))
    }

    @Test("Hash slots: CRC16 mod 16384 with hash tags, as Redis Cluster computes them")
    func slots() {
        // Values from redis-cli CLUSTER KEYSLOT.
        #expect(HashSlot.slot(of: Array("foo".utf8)) == 12182)
        #expect(HashSlot.slot(of: Array("bar".utf8)) == 5061)
        #expect(HashSlot.slot(of: Array("{user1000}.following".utf8)) == HashSlot.slot(of: Array("user1000".utf8)))
        #expect(HashSlot.slot(of: Array("foo{}{bar}".utf8)) == HashSlot.slot(of: Array("foo{}{bar}".utf8)))
        #expect(HashSlot.slot(of: Array("foo{}{bar}".utf8)) != HashSlot.slot(of: Array("bar".utf8)))
        #expect(HashSlot.slot(of: Array("foo{{bar}}zap".utf8)) == HashSlot.slot(of: Array("{bar".utf8)))
    }

    @Test("A workload log lands in redis-server with the log's DEBUG DIGEST, every database included")
    func standalone() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("w.rwlog")
        try writeWorkloadLog(at: log, commandCount: 20_000, seed: 21)
        let server = try RedisProcess(directory: directory.path)
        defer { server.stop() }
        var options = LiveReplayOptions(target: LiveTarget(host: "127.0.0.1", port: server.port))
        options.windowReplyCount = 512  // many windows in a small log
        let report = try LiveReplayer.replay(log: log, options: options)
        #expect(report.stop == nil)
        let digest = try replayed(log).1.digest
        guard case .equal(let compared) = report.comparison else { Issue.record("\(report.comparison)"); return }
        #expect(compared == digest)
        #expect(try server.digest() == digest)
        #expect(report.acknowledgedEntryCount == report.sentEntryCount)
    }

    @Test("A refused command stops the replay with the entry and the sequence to resume from; --from resumes")
    func refusedAndResumed() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("r.rwlog")
        try writeTestLog(at: log, [
            .command(["SET", "a", "1"]), .command(["LPUSH", "a", "x"]), .command(["SET", "b", "2"]), .command(["INCR", "c"]),
        ])
        let server = try RedisProcess(directory: directory.path)
        defer { server.stop() }
        let target = LiveTarget(host: "127.0.0.1", port: server.port)
        let report = try LiveReplayer.replay(log: log, options: LiveReplayOptions(target: target))
        let stop = try #require(report.stop)
        #expect(stop.sequence == 2 && stop.resumeFrom == 2)
        #expect(stop.commandText == #"LPUSH "a" "x""#)
        #expect(stop.reason.contains("WRONGTYPE"))
        #expect(stop.appliedAfterStopCount == 2)  // pipelined behind it
        #expect(!stop.targetWentAway)
        #expect(throws: LiveReplayError.self) {
            try LiveReplayer.replay(log: directory.appending("t.rwlog").withTransactionLog(), options: LiveReplayOptions(target: target, fromSequence: 3))
        }
        let resumed = try LiveReplayer.replay(log: log, options: LiveReplayOptions(target: target, fromSequence: 3))
        #expect(resumed.stop == nil)
        #expect(try server.cli(["GET", "c"]) == "2")  // applied twice: once in flight, once resumed
    }

    @Test("A target that goes away stops the replay with the first unacknowledged sequence")
    func targetGoesAway() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("g.rwlog")
        try writeTestLog(at: log, (0..<50).map { .command(["SET", "k\($0)", "v"]) })
        // A listener that reads the first requests and hangs up without replying.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        listen(listener, 1)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread {
            let client = accept(listener, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = recv(client, &buffer, buffer.count, 0)
            close(client)
        }
        thread.start()
        let report = try LiveReplayer.replay(log: log, options: LiveReplayOptions(target: LiveTarget(host: "127.0.0.1", port: port)))
        let stop = try #require(report.stop)
        #expect(stop.targetWentAway)
        #expect(stop.resumeFrom == 1)
        #expect(report.acknowledgedEntryCount == 0)
    }

    @Test("A target that refuses DEBUG DIGEST gets a key-count comparison and a note")
    func noDebug() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("n.rwlog")
        try writeTestLog(at: log, [.command(["SET", "a", "1"]), .command(["SET", "b", "1"], db: 2)])
        let server = try RedisProcess(directory: directory.path, arguments: ["--enable-debug-command", "no"])
        defer { server.stop() }
        let report = try LiveReplayer.replay(log: log, options: LiveReplayOptions(target: LiveTarget(host: "127.0.0.1", port: server.port)))
        guard case .note(let note) = report.comparison else { Issue.record("\(report.comparison)"); return }
        #expect(note.contains("db 0: 1 keys in the log, 1 on the target"))
        #expect(note.contains("db 2: 1 keys in the log, 1 on the target"))
    }
}

extension String {
    /// Writes at this path a log of SET, then a transaction #2-#5, then SET; returns the path.
    func withTransactionLog() throws -> String {
        try writeTestLog(at: self, [.command(["SET", "a", "1"]), .transaction([["INCR", "n"], ["INCR", "m"]]), .command(["SET", "b", "2"])])
        return self
    }
}

/// Three redis-server cluster nodes on loopback, joined by `redis-cli --cluster create`.
final class LoopbackCluster {
    let servers: [RedisProcess]
    var ports: [Int] { servers.map(\.port) }

    init(directory: String) throws {
        var started: [RedisProcess] = []
        for index in 0..<3 {
            let nodeDirectory = directory + "/node\(index)"
            try FileManager.default.createDirectory(atPath: nodeDirectory, withIntermediateDirectories: true)
            started.append(try RedisProcess(directory: nodeDirectory, arguments: [
                "--cluster-enabled", "yes", "--cluster-config-file", nodeDirectory + "/nodes.conf", "--cluster-node-timeout", "2000",
                "--appendonly", "no",
            ]))
        }
        servers = started
        _ = try Subprocess.run("/usr/bin/redis-cli", ["--cluster", "create"] + started.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", "0", "--cluster-yes"], timeout: 120)
        for _ in 0..<200 {
            if try started.allSatisfy({ try $0.cli(["CLUSTER", "INFO"]).contains("cluster_state:ok") }) { return }
            usleep(50_000)
        }
        throw RedisProcess.RedisError(message: "the cluster did not become ready")
    }

    func stop() { servers.forEach { $0.stop() } }
    func flush() throws { for server in servers { _ = try server.cli(["FLUSHALL"]) } }
    func nodeID(_ server: RedisProcess) throws -> String { try server.cli(["CLUSTER", "MYID"]) }
    func owner(ofSlot slot: Int) throws -> RedisProcess {
        // CLUSTER NODES: the line of the master whose slot ranges hold the slot.
        let lines = try servers[0].cli(["CLUSTER", "NODES"]).split(separator: "\n")
        for line in lines {
            let fields = line.split(separator: " ")
            for range in fields.dropFirst(8) {
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                if bounds.count == 2, (bounds[0]...bounds[1]).contains(slot) || bounds.count == 1 && bounds[0] == slot,
                   let port = Int(fields[1].split(separator: ":")[1].split(separator: "@")[0]),
                   let server = servers.first(where: { $0.port == port }) {
                    return server
                }
            }
        }
        throw RedisProcess.RedisError(message: "no owner for slot \(slot)")
    }
}

@Suite("Live replay into a 3-master Redis Cluster", .serialized, .tags(.cluster),
       .enabled(if: RedisProcess.isAvailable && ProcessInfo.processInfo.environment["REWIND_SKIP_CLUSTER"] == nil))
struct LiveClusterTests {
    @Test("Routing by slot, MOVED and ASK followed, cross-slot entries refused, and the masters' digests combined")
    func cluster() throws {
        let directory = try TemporaryDirectory()
        let cluster = try LoopbackCluster(directory: directory.path)
        defer { cluster.stop() }
        let log = directory.appending("c.rwlog")
        try writeClusterFriendlyLog(at: log, count: 6000)
        let digest = try replayed(log).1.digest
        let seed = LiveTarget(host: "127.0.0.1", port: cluster.ports[0])

        // 1. Routed by the slot map.
        let report = try LiveReplayer.replay(log: log, options: LiveReplayOptions(target: seed, cluster: true))
        #expect(report.stop == nil)
        #expect(report.nodeCount == 3)
        #expect(report.movedCount == 0)
        guard case .equal(let combined) = report.comparison else { Issue.record("\(report.comparison)"); return }
        #expect(combined == digest)
        for server in cluster.servers { #expect(Int(try server.cli(["DBSIZE"])) ?? 0 > 0) }

        // 2. A stale map (every slot on the seed): MOVED replies are followed, the data is the same.
        try cluster.flush()
        var stale = LiveReplayOptions(target: seed, cluster: true)
        stale.startsWithSeedOwningEverySlot = true
        let redirected = try LiveReplayer.replay(log: log, options: stale)
        #expect(redirected.stop == nil)
        #expect(redirected.movedCount > 0)
        guard case .equal(let again) = redirected.comparison else { Issue.record("\(redirected.comparison)"); return }
        #expect(again == digest)

        // 3. A slot being migrated: the source answers ASK for a key it does not hold.
        try cluster.flush()
        let slot = HashSlot.slot(of: Array("askkey".utf8))
        let source = try cluster.owner(ofSlot: slot)
        let destination = cluster.servers.first { $0.port != source.port }!
        _ = try destination.cli(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", cluster.nodeID(source)])
        _ = try source.cli(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", cluster.nodeID(destination)])
        let askLog = directory.appending("ask.rwlog")
        try writeTestLog(at: askLog, [.command(["SET", "askkey", "moved-along"])])
        var asking = LiveReplayOptions(target: LiveTarget(host: "127.0.0.1", port: source.port), cluster: true)
        asking.compares = false
        let asked = try LiveReplayer.replay(log: askLog, options: asking)
        #expect(asked.stop == nil)
        #expect(asked.askCount == 1)
        #expect(try destination.cli(["CLUSTER", "COUNTKEYSINSLOT", String(slot)]) == "1")
        for server in cluster.servers { _ = try server.cli(["CLUSTER", "SETSLOT", String(slot), "NODE", cluster.nodeID(source)]) }

        // 4. A transaction across slots is refused with the entry and where to resume.
        let crossLog = directory.appending("cross.rwlog")
        try writeTestLog(at: crossLog, [.command(["SET", "x", "1"]), .transaction([["SET", "foo", "1"], ["SET", "bar", "2"]])])
        var cross = LiveReplayOptions(target: seed, cluster: true)
        cross.compares = false
        let refused = try LiveReplayer.replay(log: crossLog, options: cross)
        let stop = try #require(refused.stop)
        #expect(stop.sequence == 2 && stop.resumeFrom == 2)
        #expect(stop.reason.contains("cross-slot"))
        #expect(stop.reason.contains("5061, 12182"))
        #expect(stop.commandText.hasPrefix(#"MULTI, SET "foo" "1""#))
    }
}
