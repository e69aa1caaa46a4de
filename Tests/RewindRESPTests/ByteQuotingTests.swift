import RewindRESP
import RewindTestSupport
import Testing

@Suite("Byte quoting")
struct ByteQuotingTests {
    /// Captured from redis-cli 7.0.15: `SET allbytes` to bytes 0...255 and `SET mixed` over a raw
    /// socket, then `redis-cli --no-raw GET <key>`; the printed line (without its newline) is here.
    @Test("quoted matches redis-cli's output")
    func quotedMatchesRedisCLI() {
        let allBytes = ##""\x00\x01\x02\x03\x04\x05\x06\a\b\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf\xe0\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff""##
        #expect(ByteQuoting.quoted((0...255).map { UInt8($0) }) == allBytes)
        let mixed: [UInt8] = bytes("a\"b\\c\n\r\t\u{07}\u{08} ") + [0x7F, 0xFF, 0xE9, 0x74, 0xC3, 0xA9]
        #expect(ByteQuoting.quoted(mixed) == #""a\"b\\c\n\r\t\a\b \x7f\xff\xe9t\xc3\xa9""#)
        #expect(ByteQuoting.quoted([]) == #""""#)
    }

    @Test("splitArguments reads inline commands as Redis does", arguments: requestCases.filter(\.isInline))
    func splitsLikeRedis(_ requestCase: RequestCase) throws {
        var line = bytes(requestCase.input)
        while line.last == 10 || line.last == 13 { line.removeLast() }
        let lines = line.split(separator: 10, omittingEmptySubsequences: true)
        let arguments = try lines.map { try ByteQuoting.splitArguments(Array($0)) }.filter { !$0.isEmpty }
        #expect(arguments == requestCase.expected.map { $0.map(bytes) })
    }

    @Test("Unbalanced quotes fail at the opening quote", arguments: [
        (#"a "b"#, 2), (#"a "b"c"#, 2), (#"'x"#, 0), (#"'x'y"#, 0), (#"ab"cd"#, 2), (#""\""#, 0),
    ])
    func unbalancedQuotes(_ line: String, quoteIndex: Int) throws {
        let error = try #require(throws: RESPParseError.self) { try ByteQuoting.splitArguments(bytes(line)) }
        #expect(error.code == .unbalancedQuotes)
        #expect(error.byteOffset == quoteIndex)
    }

    @Test("The line ends at its first NUL, as the C original's does")
    func nulEndsLine() throws {
        #expect(try ByteQuoting.splitArguments([97, 32, 98, 0, 99]) == [[97], [98]])
        #expect(try ByteQuoting.splitArguments([0, 34]) == [])
    }

    @Test("splitArguments(quoted(x)) gives back x for random byte strings")
    func roundTrip() throws {
        var random = SeededRandom(seed: 0xB17E5)
        for _ in 0..<3000 {
            let count = Int.random(in: 0...40, using: &random)
            // Half the strings draw from the bytes quoting treats specially, to hit every escape.
            let special: [UInt8] = [0, 7, 8, 9, 10, 13, 32, 34, 39, 92, 120, 0x7F, 0xFF]
            let value = Bool.random(using: &random)
                ? random.bytes(count: count)
                : (0..<count).map { _ in special.randomElement(using: &random)! }
            let line = Array(ByteQuoting.quoted(value).utf8)
            #expect(try ByteQuoting.splitArguments(line) == [value], "\(ByteQuoting.quoted(value))")
            // Several quoted values on one line split into the same values.
            #expect(try ByteQuoting.splitArguments(line + [32] + line) == [value, value])
        }
    }
}
