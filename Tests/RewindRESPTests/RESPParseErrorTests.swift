import RewindRESP
import Testing

/// A malformed request and what Redis 7.0 replies to it.
///
/// The `redisReply` texts were captured from redis-server 7.0.15 (`--save '' --appendonly no` on a
/// spare port): each input was sent over a raw socket with Python (`socket.sendall(input)`, then
/// `recv`) and the reply bytes copied here verbatim.
struct RequestErrorCase: CustomTestStringConvertible, Sendable {
    var input: [UInt8]
    var code: RESPParseError.Code
    var byteOffset: Int
    var redisReply: String
    var testDescription: String { ByteQuoting.quoted(input.prefix(40)) }
}

let requestErrorCases: [RequestErrorCase] = [
    .init(input: bytes("*abc\r\n"), code: .invalidMultibulkLength, byteOffset: 1,
          redisReply: "-ERR Protocol error: invalid multibulk length\r\n"),
    .init(input: bytes("*2147483648\r\n"), code: .multibulkCountTooLarge, byteOffset: 1,
          redisReply: "-ERR Protocol error: invalid multibulk length\r\n"),
    .init(input: bytes("*99999999999999999999999\r\n"), code: .invalidMultibulkLength, byteOffset: 1,
          redisReply: "-ERR Protocol error: invalid multibulk length\r\n"),
    .init(input: bytes("*+1\r\n$3\r\nfoo\r\n"), code: .invalidMultibulkLength, byteOffset: 1,
          redisReply: "-ERR Protocol error: invalid multibulk length\r\n"),
    .init(input: bytes("*01\r\n$04\r\nping\r\n"), code: .invalidMultibulkLength, byteOffset: 1,
          redisReply: "-ERR Protocol error: invalid multibulk length\r\n"),
    .init(input: bytes("*-0\r\n"), code: .invalidMultibulkLength, byteOffset: 1,
          redisReply: "-ERR Protocol error: invalid multibulk length\r\n"),
    .init(input: bytes("*1 \r\n$4\r\nping\r\n"), code: .invalidMultibulkLength, byteOffset: 1,
          redisReply: "-ERR Protocol error: invalid multibulk length\r\n"),
    .init(input: bytes("*\r\n"), code: .invalidMultibulkLength, byteOffset: 1,
          redisReply: "-ERR Protocol error: invalid multibulk length\r\n"),
    .init(input: bytes("*1\r\nx\r\n"), code: .unexpectedByte, byteOffset: 4,
          redisReply: "-ERR Protocol error: expected '$', got 'x'\r\n"),
    .init(input: bytes("*1\r\n\r\n"), code: .unexpectedByte, byteOffset: 4,
          redisReply: "-ERR Protocol error: expected '$', got ' '\r\n"),
    .init(input: [42, 49, 13, 10, 0xFF, 13, 10], code: .unexpectedByte, byteOffset: 4,
          redisReply: "-ERR Protocol error: expected '$', got '\u{FFFD}'\r\n"),
    .init(input: bytes("*1\r\n$abc\r\n"), code: .invalidBulkLength, byteOffset: 5,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("*1\r\n$-1\r\n"), code: .invalidBulkLength, byteOffset: 5,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("*1\r\n$-5\r\n"), code: .invalidBulkLength, byteOffset: 5,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("*1\r\n$+3\r\nfoo\r\n"), code: .invalidBulkLength, byteOffset: 5,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("*1\r\n$\r\nping\r\n"), code: .invalidBulkLength, byteOffset: 5,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("*1\r\n$00\r\n\r\n"), code: .invalidBulkLength, byteOffset: 5,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("*1\r\n$9999999999999999999999\r\n"), code: .invalidBulkLength, byteOffset: 5,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("*1\r\n$536870913\r\n"), code: .bulkLengthTooLarge, byteOffset: 5,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("*2\r\n$1\r\na\r\n$4 \r\nping\r\n"), code: .invalidBulkLength, byteOffset: 12,
          redisReply: "-ERR Protocol error: invalid bulk length\r\n"),
    .init(input: bytes("set \"a b\r\n"), code: .unbalancedQuotes, byteOffset: 4,
          redisReply: "-ERR Protocol error: unbalanced quotes in request\r\n"),
    .init(input: bytes("set \"a\"b\r\n"), code: .unbalancedQuotes, byteOffset: 4,
          redisReply: "-ERR Protocol error: unbalanced quotes in request\r\n"),
    .init(input: bytes("PING\r\nset 'a'b c\r\n"), code: .unbalancedQuotes, byteOffset: 10,
          redisReply: "-ERR Protocol error: unbalanced quotes in request\r\n"),
    .init(input: [UInt8](repeating: 120, count: 65537), code: .inlineRequestTooLong, byteOffset: 0,
          redisReply: "-ERR Protocol error: too big inline request\r\n"),
    .init(input: [42] + [UInt8](repeating: 49, count: 65536), code: .multibulkCountLineTooLong, byteOffset: 0,
          redisReply: "-ERR Protocol error: too big mbulk count string\r\n"),
    .init(input: bytes("*1\r\n$") + [UInt8](repeating: 49, count: 65536), code: .bulkLengthLineTooLong,
          byteOffset: 4, redisReply: "-ERR Protocol error: too big bulk count string\r\n"),
]

/// A malformed reply and where the value parser must stop. Written from the RESP3 specification;
/// Redis never parses replies, so these have no Redis message.
struct ValueErrorCase: CustomTestStringConvertible, Sendable {
    var input: String
    var code: RESPParseError.Code
    var byteOffset: Int
    var testDescription: String { ByteQuoting.quoted(Array(input.utf8)) }
}

let valueErrorCases: [ValueErrorCase] = [
    .init(input: "?\r\n", code: .unexpectedByte, byteOffset: 0),
    .init(input: ":1\r\n@", code: .unexpectedByte, byteOffset: 4),
    .init(input: "+OK\rX", code: .unexpectedByte, byteOffset: 4),
    .init(input: "+OK\n", code: .unexpectedByte, byteOffset: 3),
    .init(input: "$3\r\nfooXY", code: .unexpectedByte, byteOffset: 7),
    .init(input: "$3\r\nfoo\rY", code: .unexpectedByte, byteOffset: 8),
    .init(input: "_x\r\n", code: .unexpectedByte, byteOffset: 1),
    .init(input: "$x\r\n", code: .invalidBulkLength, byteOffset: 1),
    .init(input: "$-2\r\n", code: .invalidBulkLength, byteOffset: 1),
    .init(input: "=-1\r\n", code: .invalidBulkLength, byteOffset: 1),
    .init(input: "$9999999999999999999999\r\n", code: .invalidBulkLength, byteOffset: 1),
    .init(input: "$536870913\r\n", code: .bulkLengthTooLarge, byteOffset: 1),
    .init(input: "*-2\r\n", code: .invalidMultibulkLength, byteOffset: 1),
    .init(input: "%-1\r\n", code: .invalidMultibulkLength, byteOffset: 1),
    .init(input: "*1x\r\n", code: .invalidMultibulkLength, byteOffset: 1),
    .init(input: "*2147483648\r\n", code: .multibulkCountTooLarge, byteOffset: 1),
    .init(input: ":12a\r\n", code: .invalidInteger, byteOffset: 1),
    .init(input: ":\r\n", code: .invalidInteger, byteOffset: 1),
    .init(input: ":9223372036854775808\r\n", code: .invalidInteger, byteOffset: 1),
    .init(input: ",1.5x\r\n", code: .invalidDouble, byteOffset: 1),
    .init(input: ",0x1p3\r\n", code: .invalidDouble, byteOffset: 1),
    .init(input: ",\r\n", code: .invalidDouble, byteOffset: 1),
    .init(input: "#x\r\n", code: .invalidBoolean, byteOffset: 1),
    .init(input: "(12a\r\n", code: .invalidBigNumber, byteOffset: 1),
    .init(input: "(-\r\n", code: .invalidBigNumber, byteOffset: 1),
    .init(input: "=3\r\ntxt\r\n", code: .invalidVerbatimString, byteOffset: 4),
    .init(input: "=5\r\ntxt!x\r\n", code: .invalidVerbatimString, byteOffset: 4),
    .init(input: "*1\r\n*1\r\n:x\r\n", code: .invalidInteger, byteOffset: 9),
    // 100 nested aggregates are allowed; the 101st, at byte 400, is one too many.
    .init(input: String(repeating: "*1\r\n", count: 101) + ":1\r\n", code: .nestingTooDeep, byteOffset: 400),
    .init(input: "+" + String(repeating: "a", count: 65536), code: .lineTooLong, byteOffset: 0),
]

@Suite("RESP parse errors")
struct RESPParseErrorTests {
    @Test("Each malformed request fails with its code, offset and Redis's reply", arguments: requestErrorCases)
    func requestErrors(_ errorCase: RequestErrorCase) throws {
        let error = try #require(parseRequests(errorCase.input).failure)
        #expect(error.code == errorCase.code)
        #expect(error.byteOffset == errorCase.byteOffset)
        let reply = try #require(error.redisErrorReply)
        #expect(String(decoding: reply, as: UTF8.self) == errorCase.redisReply)
    }

    @Test("Redis's reply carries the unexpected byte raw")
    func unexpectedByteIsRaw() throws {
        let error = try #require(parseRequests([42, 49, 13, 10, 0xFF, 13, 10]).failure)
        #expect(error.redisErrorReply == Array("-ERR Protocol error: expected '$', got '".utf8) + [0xFF, 39, 13, 10])
        #expect(error.foundByte == 0xFF)
    }

    @Test("Each malformed reply fails with its code and offset", arguments: valueErrorCases)
    func valueErrors(_ errorCase: ValueErrorCase) throws {
        let error = try #require(parseValues(bytes(errorCase.input)).failure)
        #expect(error.code == errorCase.code)
        #expect(error.byteOffset == errorCase.byteOffset)
        #expect(error.redisMessage == nil)
    }

    @Test("Offsets are absolute: they count bytes consumed by earlier frames")
    func offsetsAreAbsolute() throws {
        let prefix = [UInt8](repeating: 0, count: 0) + Array(repeating: bytes(":1\r\n"), count: 3000).flatMap { $0 }
        var parser = RESPParser()
        parser.append(prefix)
        while try parser.nextValue() != nil {}
        parser.append(bytes("$x\r\n"))
        #expect(throws: RESPParseError(code: .invalidBulkLength, byteOffset: 12001)) { try parser.nextValue() }
    }

    @Test("After an error every call throws the same error")
    func errorsAreSticky() throws {
        var parser = RESPParser()
        parser.append(bytes("*1\r\nx\r\n"))
        let first = try #require(throws: RESPParseError.self) { try parser.nextRequest() }
        parser.append(bytes("*1\r\n$4\r\nPING\r\n"))
        #expect(throws: first) { try parser.nextRequest() }
        #expect(throws: first) { try parser.nextValue() }
    }

    @Test("A tightened limit is enforced")
    func tightenedLimits() throws {
        let limits = RESPLimits(bulkByteCountMax: 3, multibulkCountMax: 2, aggregateDepthMax: 1, lineByteCountMax: 8)
        #expect(parseRequests(bytes("*1\r\n$4\r\nPING\r\n"), limits: limits).failure?.code == .bulkLengthTooLarge)
        #expect(parseRequests(bytes("*3\r\n"), limits: limits).failure?.code == .multibulkCountTooLarge)
        #expect(parseRequests(bytes("PINGPINGP"), limits: limits).failure?.code == .inlineRequestTooLong)
        #expect(parseRequests(bytes("PINGPING"), limits: limits).failure == nil)
        #expect(parseValues(bytes("*1\r\n*0\r\n"), limits: limits).failure?.code == .nestingTooDeep)
        #expect(parseValues(bytes("*1\r\n:1\r\n"), limits: limits).failure == nil)
    }

    @Test("The description names the place and the problem")
    func descriptionIsOneLine() {
        let error = RESPParseError(code: .unexpectedByte, byteOffset: 1042, foundByte: 0)
        #expect(error.description == #"byte 1042: unexpected byte "\x00""#)
    }
}
