import RewindRESP
import RewindTestSupport
import Testing

/// A value and the bytes redis-server 7.0.15 sent for it in each protocol.
///
/// Captured from a redis-server 7.0.15 started with `--enable-debug-command yes --save ''` on a
/// spare port. A Python script opened a raw socket, sent `HELLO 2` or `HELLO 3`, then each command
/// in the comment as a multibulk request, and printed the reply bytes with `repr`; those bytes
/// are copied here verbatim. DEBUG PROTOCOL <type> makes Redis send each reply type.
struct EncoderGolden: CustomTestStringConvertible, Sendable {
    var command: String
    var value: RESPValue
    var resp2: String
    var resp3: String
    var testDescription: String { command }
}

let encoderGoldens: [EncoderGolden] = [
    .init(command: "PING", value: .simpleString("PONG"), resp2: "+PONG\r\n", resp3: "+PONG\r\n"),
    .init(command: "GET k x", value: .error("ERR wrong number of arguments for 'get' command"),
          resp2: "-ERR wrong number of arguments for 'get' command\r\n",
          resp3: "-ERR wrong number of arguments for 'get' command\r\n"),
    .init(command: "DEBUG PROTOCOL integer", value: .integer(12345), resp2: ":12345\r\n", resp3: ":12345\r\n"),
    .init(command: "DEBUG PROTOCOL string", value: .bulk("Hello World"),
          resp2: "$11\r\nHello World\r\n", resp3: "$11\r\nHello World\r\n"),
    .init(command: "GET k (after SET k \"a\\x00\\r\\nb\")", value: .bulkString([97, 0, 13, 10, 98]),
          resp2: "$5\r\na\u{0}\r\nb\r\n", resp3: "$5\r\na\u{0}\r\nb\r\n"),
    .init(command: "GET missing", value: .null, resp2: "$-1\r\n", resp3: "_\r\n"),
    .init(command: "BLPOP nolist 0.01", value: .nullArray, resp2: "*-1\r\n", resp3: "_\r\n"),
    .init(command: "DEBUG PROTOCOL array", value: .array([.integer(0), .integer(1), .integer(2)]),
          resp2: "*3\r\n:0\r\n:1\r\n:2\r\n", resp3: "*3\r\n:0\r\n:1\r\n:2\r\n"),
    .init(command: "DEBUG PROTOCOL set", value: .set([.integer(0), .integer(1), .integer(2)]),
          resp2: "*3\r\n:0\r\n:1\r\n:2\r\n", resp3: "~3\r\n:0\r\n:1\r\n:2\r\n"),
    .init(command: "DEBUG PROTOCOL map",
          value: .map([RESPPair(.integer(0), .boolean(false)), RESPPair(.integer(1), .boolean(true)),
                       RESPPair(.integer(2), .boolean(false))]),
          resp2: "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n", resp3: "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
    .init(command: "HGETALL h", value: .map([RESPPair(.bulk("f"), .bulk("v"))]),
          resp2: "*2\r\n$1\r\nf\r\n$1\r\nv\r\n", resp3: "%1\r\n$1\r\nf\r\n$1\r\nv\r\n"),
    .init(command: "SMEMBERS s", value: .set([.bulk("m")]), resp2: "*1\r\n$1\r\nm\r\n", resp3: "~1\r\n$1\r\nm\r\n"),
    .init(command: "DEBUG PROTOCOL true", value: .boolean(true), resp2: ":1\r\n", resp3: "#t\r\n"),
    .init(command: "DEBUG PROTOCOL false", value: .boolean(false), resp2: ":0\r\n", resp3: "#f\r\n"),
    .init(command: "DEBUG PROTOCOL double", value: .double(3.141), resp2: "$5\r\n3.141\r\n", resp3: ",3.141\r\n"),
    .init(command: "ZSCORE z a (score 0.1)", value: .double(0.1),
          resp2: "$19\r\n0.10000000000000001\r\n", resp3: ",0.10000000000000001\r\n"),
    .init(command: "ZSCORE z b (score inf)", value: .double(.infinity), resp2: "$3\r\ninf\r\n", resp3: ",inf\r\n"),
    .init(command: "ZSCORE z c (score -inf)", value: .double(-.infinity), resp2: "$4\r\n-inf\r\n", resp3: ",-inf\r\n"),
    .init(command: "ZSCORE z d (score 1e300)", value: .double(1e300),
          resp2: "$23\r\n1.0000000000000001e+300\r\n", resp3: ",1.0000000000000001e+300\r\n"),
    .init(command: "ZSCORE z e (score 3)", value: .double(3), resp2: "$1\r\n3\r\n", resp3: ",3\r\n"),
    .init(command: "ZSCORE z g (score 1.5e-300)", value: .double(1.5e-300),
          resp2: "$23\r\n1.5000000000000001e-300\r\n", resp3: ",1.5000000000000001e-300\r\n"),
    .init(command: "DEBUG PROTOCOL bignum", value: .bigNumber("1234567999999999999999999999999999999"),
          resp2: "$37\r\n1234567999999999999999999999999999999\r\n",
          resp3: "(1234567999999999999999999999999999999\r\n"),
    .init(command: "DEBUG PROTOCOL verbatim",
          value: .verbatimString(format: "txt", text: bytes("This is a verbatim\nstring")),
          resp2: "$25\r\nThis is a verbatim\nstring\r\n", resp3: "=29\r\ntxt:This is a verbatim\nstring\r\n"),
]

@Suite("RESP encoder")
struct RESPEncoderTests {
    @Test("RESP2 bytes match redis-server 7.0", arguments: encoderGoldens)
    func resp2MatchesRedis(_ golden: EncoderGolden) {
        #expect(golden.value.encoded(for: .resp2) == bytes(golden.resp2))
    }

    @Test("RESP3 bytes match redis-server 7.0", arguments: encoderGoldens)
    func resp3MatchesRedis(_ golden: EncoderGolden) throws {
        #expect(golden.value.encoded(for: .resp3) == bytes(golden.resp3))
        // And the parser reads Redis's bytes back as the same value (both nulls read as `_`).
        let expected: RESPValue = golden.value == .nullArray ? .null : golden.value
        #expect(try parseValues(bytes(golden.resp3)).get() == [expected])
    }

    @Test("RESP3 push matches redis-server 7.0 (DEBUG PROTOCOL push)")
    func pushMatchesRedis() {
        let value = RESPValue.push([.bulk("server-cpu-usage"), .integer(42)])
        #expect(value.encoded(for: .resp3) == bytes(">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"))
    }

    @Test("RESP3 nested arrays match redis-server 7.0 (ZRANGE z 0 1 WITHSCORES)")
    func nestedMatchesRedis() {
        let value = RESPValue.array([.array([.bulk("c"), .double(-.infinity)]), .array([.bulk("f"), .double(0)])])
        #expect(value.encoded(for: .resp3) == bytes("*2\r\n*2\r\n$1\r\nc\r\n,-inf\r\n*2\r\n$1\r\nf\r\n,0\r\n"))
    }

    @Test("CR and LF in a simple string or error become spaces, keeping the frame one line")
    func lineBreaksBecomeSpaces() {
        #expect(RESPValue.error("ERR a\r\nb").encoded(for: .resp2) == bytes("-ERR a  b\r\n"))
        #expect(RESPValue.simpleString("a\nb").encoded(for: .resp3) == bytes("+a b\r\n"))
    }

    @Test("Integers encode at the extremes")
    func integerExtremes() {
        #expect(RESPValue.integer(.min).encoded(for: .resp2) == bytes(":-9223372036854775808\r\n"))
        #expect(RESPValue.integer(.max).encoded(for: .resp3) == bytes(":9223372036854775807\r\n"))
    }

    @Test("encodeCommand writes what encoding an array of bulk strings writes, and parses back")
    func encodeCommandMatchesArray() throws {
        var random = SeededRandom(seed: 42)
        for _ in 0..<300 {
            let arguments = (0..<Int.random(in: 0...12, using: &random)).map { _ in
                random.bytes(count: Int.random(in: 0...(Bool.random(using: &random) ? 12 : 300), using: &random))
            }
            var command: [UInt8] = [7]
            RESPEncoder.encodeCommand(arguments, into: &command)
            #expect(command == [7] + RESPValue.array(arguments.map(RESPValue.bulkString)).encoded(for: .resp2))
            let parsed = try parseRequests(Array(command.dropFirst())).get()
            #expect(parsed.map(\.arguments) == (arguments.isEmpty ? [] : [arguments]))
        }
    }

    @Test("formatDouble reads back as the same double")
    func formatDoubleRoundTrips() {
        var random = SeededRandom(seed: 9)
        for _ in 0..<2000 {
            let number = Double(bitPattern: random.next())
            guard number.isFinite else { continue }
            let text = String(decoding: RESPEncoder.formatDouble(number), as: UTF8.self)
            #expect(Double(text) == number, "\(text)")
        }
    }
}
