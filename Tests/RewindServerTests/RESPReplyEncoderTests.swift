import NIOCore
import RewindRESP
import RewindTestSupport
import Testing
@testable import RewindServer

@Suite("Replies written straight into NIO buffers")
struct RESPReplyEncoderTests {
    static let values: [RESPValue] = {
        var values: [RESPValue] = [
            .ok, .simpleString("QUEUED"), .simpleString("O\r\nK"), .simpleString(""), .simpleString("OKAY"),
            .error("ERR wrong"), .null, .nullArray, .bulkString([]), .bulkString(Array("hello".utf8)),
            .bulkString([0, 13, 10, 255]), .bulkString(Array(repeating: 120, count: 70_000)),
            .array([.integer(1), .bulkString(Array("x".utf8)), .null]), .map([RESPPair(.bulk("k"), .integer(-1))]),
            .double(0.1), .boolean(true), .set([.ok]), .push([.bulk("message")]), .bigNumber("12345678901234567890123"),
            .verbatimString(format: "txt", text: Array("v".utf8)),
        ]
        for number: Int64 in [0, 1, -1, 9, 10, 99, 100, 12345, -12345, Int64(Int32.max), Int64.max, Int64.min, Int64.min + 1] {
            values.append(.integer(number))
        }
        var power: Int64 = 1
        for _ in 0..<18 {
            values.append(.integer(power))
            values.append(.integer(power - 1))
            values.append(.integer(-power))
            power *= 10
        }
        return values
    }()

    @Test("Every value is written byte for byte as RESPEncoder encodes it", arguments: RESPVersion.allCases)
    func matchesRESPEncoder(version: RESPVersion) {
        var scratch: [UInt8] = []
        var generator = SeededGenerator(seed: 11)
        var values = Self.values
        for _ in 0..<500 { values.append(.integer(Int64.random(in: .min ... .max, using: &generator))) }
        // One buffer for all of them, as a segment of held replies collects a read's replies.
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        var expected: [UInt8] = []
        for value in values {
            var single = ByteBufferAllocator().buffer(capacity: 0)
            let count = single.writeRESPReply(value, version: version, scratch: &scratch)
            let want = value.encoded(for: version)
            #expect(Array(single.readableBytesView) == want, "\(value)")
            #expect(count == want.count)
            buffer.writeRESPReply(value, version: version, scratch: &scratch)
            expected += want
        }
        #expect(Array(buffer.readableBytesView) == expected)
    }
}
