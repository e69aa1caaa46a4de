import Logging
import NIOCore
import NIOEmbedded
import RewindEngine
import RewindLog
import RewindRESP
import RewindTestSupport
import Testing
@testable import RewindServer

/// One connection handler on an embedded channel, over a real log in a temporary directory and
/// without a committer thread: the test acknowledges the log itself, so held replies are checked
/// deterministically.
final class EmbeddedConnection {
    let directory: TemporaryDirectory
    let channel = EmbeddedChannel()
    let core: ServerCore

    init(password: String? = nil, durability: DurabilityPolicy = .always,
         configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        directory = try TemporaryDirectory(prefix: "rewind-server")
        var configuration = ServerConfiguration()
        configuration.directory = directory.appending("log")
        configuration.durability = durability
        configuration.requirePassword = password
        configure(&configuration)
        let keyspace = Keyspace(randomSeed: 1)
        let (writer, report) = try LogRecovery.open(configuration, into: keyspace) { _ in }
        core = ServerCore(configuration: configuration, keyspace: keyspace, writer: writer, eventLoop: channel.eventLoop,
                          logger: Logger(label: "test"), startupReport: report)
        let handler = ConnectionHandler(core: core, id: core.makeClientID(), nowMilliseconds: 0)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
    }

    /// Another connection to the same server, on the same event loop.
    func connect() throws -> EmbeddedChannel {
        let other = EmbeddedChannel(loop: channel.embeddedEventLoop)
        try other.pipeline.syncOperations.addHandler(ConnectionHandler(core: core, id: core.makeClientID(), nowMilliseconds: 0))
        try other.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return other
    }

    func send(_ text: String, on target: EmbeddedChannel? = nil) throws {
        try (target ?? channel).writeInbound(ByteBuffer(string: text))
        channel.embeddedEventLoop.run()
    }

    /// Everything written to the client so far, as text.
    func received(on target: EmbeddedChannel? = nil) throws -> String {
        var text = ""
        while let buffer = try (target ?? channel).readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// Waits for the log as the committer would, then releases the held replies.
    func acknowledge() throws {
        try core.writer!.sync()
        core.acknowledge(upTo: core.appendedSequence)
    }

    func finish() throws -> Bool {
        defer { try? core.writer?.close() }
        return try channel.finish(acceptAlreadyClosed: true).isClean
    }
}

@Suite("Connection handler on an embedded channel")
struct ConnectionHandlerTests {
    @Test("PING and ECHO are answered at once")
    func ping() throws {
        let connection = try EmbeddedConnection()
        try connection.send("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n")
        #expect(try connection.received() == "+PONG\r\n$2\r\nhi\r\n")
        #expect(try connection.finish())
    }

    @Test("Under always a write's reply waits for the log, and a later read waits behind it")
    func heldUntilDurable() throws {
        let connection = try EmbeddedConnection()
        try connection.send("SET k v\r\nGET k\r\n")
        #expect(try connection.received() == "")
        try connection.acknowledge()
        #expect(try connection.received() == "+OK\r\n$1\r\nv\r\n")
        try connection.send("GET k\r\n")
        #expect(try connection.received() == "$1\r\nv\r\n")
        #expect(try connection.finish())
    }

    @Test("MULTI/EXEC is logged as one transaction")
    func transaction() throws {
        let connection = try EmbeddedConnection()
        try connection.send("MULTI\r\nSET a 1\r\nINCR a\r\nEXEC\r\n")
        try connection.acknowledge()
        #expect(try connection.received() == "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:2\r\n")
        let entries = try LogReader(directory: connection.core.configuration.directory).readAll().entries
        #expect(entries.map(\.kind) == [.transactionBegin, .command, .command, .transactionEnd])
        #expect(entries[1].arguments == [Array("SET".utf8), Array("a".utf8), Array("1".utf8)])
        #expect(try connection.finish())
    }

    @Test("Server commands queue inside MULTI and their replies take their places in EXEC's array")
    func serverCommandsInTransaction() throws {
        let connection = try EmbeddedConnection()
        try connection.send("MULTI\r\nSET a 1\r\nCONFIG GET hz\r\nINCR a\r\nCLIENT ID\r\nEXEC\r\n")
        try connection.acknowledge()
        #expect(try connection.received() == "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
            + "*4\r\n+OK\r\n*2\r\n$2\r\nhz\r\n$2\r\n10\r\n:2\r\n:1\r\n")
        try connection.send("MULTI\r\nCONFIG GET hz\r\nDISCARD\r\nEXEC\r\n")
        #expect(try connection.received() == "+OK\r\n+QUEUED\r\n+OK\r\n-ERR EXEC without MULTI\r\n")
        #expect(try connection.finish())
    }

    @Test("The entry's timestamp is the time the command ran at")
    func timestamps() throws {
        let connection = try EmbeddedConnection()
        let before = Clock.nowMilliseconds()
        try connection.send("SET k v EX 100\r\n")
        try connection.acknowledge()
        let after = Clock.nowMilliseconds()
        let entry = try #require(try LogReader(directory: connection.core.configuration.directory).readAll().entries.first)
        #expect((before...after).contains(entry.timestampMilliseconds))
        let expiry = try #require(Int64(String(decoding: entry.arguments[4], as: UTF8.self)))
        #expect(expiry == entry.timestampMilliseconds + 100_000)
        _ = try connection.received()
        #expect(try connection.finish())
    }

    @Test("AUTH: NOAUTH before, WRONGPASS for a bad password, OK for the right one")
    func authentication() throws {
        let connection = try EmbeddedConnection(password: "secret")
        try connection.send("GET k\r\nAUTH nope\r\nAUTH secret\r\nGET k\r\n")
        #expect(try connection.received() == "-NOAUTH Authentication required.\r\n"
            + "-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n$-1\r\n")
        #expect(try connection.finish())
    }

    @Test("Before AUTH, Redis's tighter bounds: more than 10 arguments or a 16 KiB argument closes the connection")
    func unauthenticatedLimits() throws {
        let tooMany = try EmbeddedConnection(password: "secret")
        try tooMany.send("*11\r\n")
        #expect(try tooMany.received() == "-ERR Protocol error: unauthenticated multibulk length\r\n")
        #expect(!tooMany.channel.isActive)
        #expect(try tooMany.finish())

        let tooLong = try EmbeddedConnection(password: "secret")
        try tooLong.send("*2\r\n$3\r\nGET\r\n$16385\r\n")
        #expect(try tooLong.received() == "-ERR Protocol error: unauthenticated bulk length\r\n")
        #expect(!tooLong.channel.isActive)
        #expect(try tooLong.finish())

        // At the bounds it is still NOAUTH; after AUTH the same requests are served.
        let connection = try EmbeddedConnection(password: "secret")
        let big = String(repeating: "v", count: 16_384)
        let eleven = "*11\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n" + String(repeating: "$1\r\nx\r\n", count: 9)
        try connection.send("*2\r\n$3\r\nGET\r\n$16384\r\n\(big)\r\nAUTH secret\r\n" + eleven
                            + "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n\(String(repeating: "w", count: 20_000))\r\nSTRLEN k\r\n")
        try connection.acknowledge()
        #expect(try connection.received() == "-NOAUTH Authentication required.\r\n+OK\r\n:9\r\n+OK\r\n:20000\r\n")
        #expect(connection.channel.isActive)
        #expect(try connection.finish())
    }

    @Test("HELLO 3 switches to RESP3 and answers with a map")
    func hello() throws {
        let connection = try EmbeddedConnection()
        try connection.send("HELLO 3\r\nGET missing\r\nHELLO 4\r\n")
        let text = try connection.received()
        #expect(text.hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"))
        #expect(text.hasSuffix("_\r\n-NOPROTO unsupported protocol version\r\n"))
        #expect(try connection.finish())
    }

    @Test("A malformed frame gets Redis's error after the replies owed, then the connection closes")
    func protocolError() throws {
        let connection = try EmbeddedConnection()
        try connection.send("PING\r\n*1\r\n$abc\r\n")
        #expect(try connection.received() == "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n")
        #expect(!connection.channel.isActive)
        #expect(try connection.finish())
    }

    @Test("QUIT replies OK and closes")
    func quit() throws {
        let connection = try EmbeddedConnection()
        try connection.send("QUIT\r\nPING\r\n")
        #expect(try connection.received() == "+OK\r\n")
        #expect(!connection.channel.isActive)
        #expect(try connection.finish())
    }

    @Test("CONFIG GET answers with Redis's names; an unknown CONFIG SET gets Redis's error")
    func config() throws {
        let connection = try EmbeddedConnection()
        try connection.send("CONFIG GET appendfsync\r\nCONFIG SET set-max-intset-entries 1000\r\nCONFIG GET set-max-intset-entries\r\nCONFIG SET nosuch 1\r\n")
        #expect(try connection.received() == "*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n+OK\r\n"
            + "*2\r\n$22\r\nset-max-intset-entries\r\n$4\r\n1000\r\n"
            + "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n")
        #expect(try connection.finish())
    }

    @Test("INFO keyspace counts keys and expires")
    func info() throws {
        let connection = try EmbeddedConnection(durability: .everysec)
        try connection.send("SET a 1\r\nSET b 2 EX 100\r\n")
        try connection.acknowledge()
        _ = try connection.received()
        try connection.send("INFO keyspace\r\n")
        #expect(try connection.received().contains("db0:keys=2,expires=1,avg_ttl=0\r\n"))
        #expect(try connection.finish())
    }

    @Test("OBJECT ENCODING uses Redis's encoding names")
    func objectEncoding() throws {
        let connection = try EmbeddedConnection(durability: .no)
        try connection.send("SET i 12345\r\nSET s hello\r\nRPUSH l a b\r\nSADD n 1 2\r\n")
        try connection.acknowledge()
        _ = try connection.received()
        try connection.send("OBJECT ENCODING i\r\nOBJECT ENCODING s\r\nOBJECT ENCODING l\r\nOBJECT ENCODING n\r\nOBJECT ENCODING none\r\n")
        #expect(try connection.received() == "$3\r\nint\r\n$6\r\nembstr\r\n$9\r\nquicklist\r\n$6\r\nintset\r\n$-1\r\n")
        #expect(try connection.finish())
    }
}
