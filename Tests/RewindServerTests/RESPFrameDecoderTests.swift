import NIOCore
import NIOTestUtils
import RewindRESP
import Testing
@testable import RewindServer

/// The frame decoder with only the arguments as output, so that NIO's verifier can compare
/// requests decoded from concatenated input (whose stream offsets differ) with those decoded alone.
struct ArgumentsDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = [[UInt8]]
    var inner: RESPFrameDecoder
    init(limits: ServerLimits = ServerLimits()) { inner = RESPFrameDecoder(limits: limits) }
    mutating func decode(buffer: inout ByteBuffer) throws -> [[UInt8]]? { try inner.decode(buffer: &buffer)?.arguments }
    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> [[UInt8]]? {
        try inner.decodeLast(buffer: &buffer, seenEOF: seenEOF)?.arguments
    }
}

private func words(_ text: String) -> [[UInt8]] { text.split(separator: " ").map { Array($0.utf8) } }

@Suite("RESP frame decoder")
struct RESPFrameDecoderTests {
    @Test("Multibulk and inline requests decode byte by byte, whole and concatenated")
    func verifier() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: [
                ("*1\r\n$4\r\nPING\r\n", [words("PING")]),
                ("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", [words("SET k hello")]),
                ("GET k\r\n", [words("GET k")]),
                ("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [[Array("ECHO".utf8), []]]),
                ("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", [words("PING"), words("PING")]),
            ],
            decoderFactory: { ArgumentsDecoder() })
    }

    @Test("A thousand pipelined commands in one read all come out, in order")
    func pipelining() throws {
        var processor = NIOSingleStepByteToMessageProcessor(ArgumentsDecoder())
        var buffer = ByteBuffer()
        for index in 0..<1000 { buffer.writeString("*2\r\n$4\r\nINCR\r\n$\(String(index).count)\r\n\(index)\r\n") }
        var seen: [[[UInt8]]] = []
        try processor.process(buffer: buffer) { seen.append($0) }
        #expect(seen.count == 1000)
        #expect(seen.last == [Array("INCR".utf8), Array("999".utf8)])
    }

    @Test("A 4 GB bulk length is refused with Redis's error before any byte is buffered")
    func hugeBulkLength() throws {
        var decoder = RESPFrameDecoder()
        var buffer = ByteBuffer(string: "*1\r\n$4294967296\r\n")
        #expect {
            _ = try decoder.decode(buffer: &buffer)
        } throws: { error in
            (error as? RESPParseError)?.redisMessage == "Protocol error: invalid bulk length"
        }
    }

    @Test("A client over its query buffer limit is refused")
    func queryBufferLimit() throws {
        var limits = ServerLimits()
        limits.queryBufferByteCountMax = 1024
        var decoder = RESPFrameDecoder(limits: limits)
        var buffer = ByteBuffer(string: "*1\r\n$4000\r\n" + String(repeating: "x", count: 2000))
        #expect(throws: QueryBufferLimitExceeded.self) { _ = try decoder.decode(buffer: &buffer) }
    }

    @Test("Random bytes never trap the decoder", arguments: 0..<20)
    func fuzz(seed: Int) {
        var generator = SplitMixTestGenerator(seed: UInt64(seed))
        var processor = NIOSingleStepByteToMessageProcessor(ArgumentsDecoder())
        let alphabet = Array("*$\r\n0123456789-+:abc ".utf8)
        for _ in 0..<200 {
            var buffer = ByteBuffer()
            for _ in 0..<Int(generator.next() % 64) { buffer.writeInteger(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            do { try processor.process(buffer: buffer) { _ in } } catch { return }
        }
    }
}

struct SplitMixTestGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
