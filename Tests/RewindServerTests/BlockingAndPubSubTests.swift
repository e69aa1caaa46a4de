import NIOCore
import NIOEmbedded
import RewindLog
import Testing
@testable import RewindServer

@Suite("Blocking pops and pub/sub across connections")
struct BlockingAndPubSubTests {
    @Test("BLPOP waits, is served by another client's push, and is logged as the plain pop")
    func blpopServedByPush() throws {
        let server = try EmbeddedConnection()
        let pusher = try server.connect()
        try server.send("BLPOP queue 0\r\nPING\r\n")
        #expect(try server.received() == "")
        try server.send("RPUSH queue job\r\n", on: pusher)
        try server.acknowledge()
        #expect(try server.received(on: pusher) == ":1\r\n")
        let served = try server.received()
        #expect(served == "*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n+PONG\r\n")
        let entries = try LogReader(directory: server.core.configuration.directory).readAll().entries
        #expect(entries.map { $0.arguments.map { String(decoding: $0, as: UTF8.self) } } == [["RPUSH", "queue", "job"], ["LPOP", "queue"]])
        #expect(try pusher.finish(acceptAlreadyClosed: true).isClean)
        #expect(try server.finish())
    }

    @Test("A read of another client's write waits until that write is durable")
    func noReadOfUndurableWrites() throws {
        let server = try EmbeddedConnection()
        let reader = try server.connect()
        try server.send("SET k v\r\n")
        try server.send("GET k\r\n", on: reader)
        #expect(try server.received(on: reader) == "")
        try server.acknowledge()
        #expect(try server.received() == "+OK\r\n")
        #expect(try server.received(on: reader) == "$1\r\nv\r\n")
        #expect(try reader.finish(acceptAlreadyClosed: true).isClean)
        #expect(try server.finish())
    }

    @Test("WATCH sees another client's write: EXEC fails with a null array and nothing is logged for it")
    func watchAcrossClients() throws {
        let server = try EmbeddedConnection(durability: .no)
        let other = try server.connect()
        try server.send("WATCH k\r\n")
        try server.send("SET k theirs\r\n", on: other)
        try server.send("MULTI\r\nSET k mine\r\nEXEC\r\nGET k\r\n")
        try server.acknowledge()
        #expect(try server.received(on: other) == "+OK\r\n")
        #expect(try server.received() == "+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n$6\r\ntheirs\r\n")
        #expect(try LogReader(directory: server.core.configuration.directory).readAll().entries.count == 1)
        #expect(try other.finish(acceptAlreadyClosed: true).isClean)
        #expect(try server.finish())
    }

    @Test("BLMOVE is served by a push inside another client's EXEC and logged as LMOVE")
    func blmoveInsideExec() throws {
        let server = try EmbeddedConnection()
        let pusher = try server.connect()
        try server.send("BLMOVE src dst LEFT RIGHT 0\r\n")
        try server.send("MULTI\r\nRPUSH src a\r\nRPUSH other b\r\nEXEC\r\n", on: pusher)
        try server.acknowledge()
        #expect(try server.received(on: pusher) == "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:1\r\n")
        #expect(try server.received() == "$1\r\na\r\n")
        let entries = try LogReader(directory: server.core.configuration.directory).readAll().entries
        #expect(entries.filter { $0.kind == .command }.map { $0.arguments.map { String(decoding: $0, as: UTF8.self) } }
            == [["RPUSH", "src", "a"], ["RPUSH", "other", "b"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"]])
        #expect(try pusher.finish(acceptAlreadyClosed: true).isClean)
        #expect(try server.finish())
    }

    @Test("Blocked clients are served in the order they blocked")
    func fifo() throws {
        let server = try EmbeddedConnection()
        let second = try server.connect()
        let pusher = try server.connect()
        try server.send("BRPOP q 0\r\n")
        try server.send("BRPOP q 0\r\n", on: second)
        try server.send("RPUSH q a\r\n", on: pusher)
        try server.acknowledge()
        #expect(try server.received() == "*2\r\n$1\r\nq\r\n$1\r\na\r\n")
        #expect(try server.received(on: second) == "")
        try server.send("RPUSH q b\r\n", on: pusher)
        try server.acknowledge()
        #expect(try server.received(on: second) == "*2\r\n$1\r\nq\r\n$1\r\nb\r\n")
        #expect(try server.received(on: pusher) == ":1\r\n:1\r\n")
        #expect(try second.finish(acceptAlreadyClosed: true).isClean)
        #expect(try pusher.finish(acceptAlreadyClosed: true).isClean)
        #expect(try server.finish())
    }

    @Test("A blocking pop times out with a null array")
    func timeout() throws {
        let server = try EmbeddedConnection()
        try server.send("BLPOP empty 0.05\r\n")
        #expect(try server.received() == "")
        server.channel.embeddedEventLoop.advanceTime(by: .milliseconds(60))
        #expect(try server.received() == "*-1\r\n")
        #expect(try server.finish())
    }

    @Test("CLIENT UNBLOCK ends the wait as a timeout or with an error")
    func clientUnblock() throws {
        let server = try EmbeddedConnection()
        let other = try server.connect()
        try server.send("BLPOP empty 0\r\n")
        try server.send("CLIENT UNBLOCK 1 ERROR\r\n", on: other)
        #expect(try server.received(on: other) == ":1\r\n")
        #expect(try server.received() == "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
        #expect(try other.finish(acceptAlreadyClosed: true).isClean)
        #expect(try server.finish())
    }

    @Test("PUBLISH reaches channel and pattern subscribers; a RESP2 subscriber may not GET")
    func publish() throws {
        let server = try EmbeddedConnection()
        let publisher = try server.connect()
        try server.send("SUBSCRIBE news\r\nPSUBSCRIBE n*\r\nGET k\r\nPING\r\n")
        #expect(try server.received() == "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n"
            + "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
            + "*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        try server.send("PUBLISH news hi\r\nPUBSUB NUMSUB news\r\nPUBSUB NUMPAT\r\n", on: publisher)
        #expect(try server.received(on: publisher) == ":2\r\n*2\r\n$4\r\nnews\r\n:1\r\n:1\r\n")
        #expect(try server.received() == "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
            + "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
        #expect(try publisher.finish(acceptAlreadyClosed: true).isClean)
        #expect(try server.finish())
    }

    @Test("A RESP3 subscriber gets push messages")
    func resp3Push() throws {
        let server = try EmbeddedConnection()
        let publisher = try server.connect()
        try server.send("HELLO 3\r\n")
        _ = try server.received()
        try server.send("SUBSCRIBE c\r\n")
        #expect(try server.received() == ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n")
        try server.send("PUBLISH c x\r\n", on: publisher)
        #expect(try server.received() == ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n")
        #expect(try server.received(on: publisher) == ":1\r\n")
        #expect(try publisher.finish(acceptAlreadyClosed: true).isClean)
        #expect(try server.finish())
    }
}
