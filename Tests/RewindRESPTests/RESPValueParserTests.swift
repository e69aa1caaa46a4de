import RewindRESP
import RewindTestSupport
import Testing

/// One value frame and what it parses to.
struct ValueCase: CustomTestStringConvertible, Sendable {
    var input: String
    var expected: RESPValue
    var testDescription: String { ByteQuoting.quoted(Array(input.utf8)) }
}

/// Frames of every RESP2 and RESP3 type, written from the protocol specification.
let valueCases: [ValueCase] = [
    // RESP2
    ValueCase(input: "+OK\r\n", expected: .simpleString("OK")),
    ValueCase(input: "+\r\n", expected: .simpleString("")),
    ValueCase(input: "-ERR unknown command\r\n", expected: .error("ERR unknown command")),
    ValueCase(input: ":0\r\n", expected: .integer(0)),
    ValueCase(input: ":-42\r\n", expected: .integer(-42)),
    ValueCase(input: ":+7\r\n", expected: .integer(7)),
    ValueCase(input: ":9223372036854775807\r\n", expected: .integer(.max)),
    ValueCase(input: ":-9223372036854775808\r\n", expected: .integer(.min)),
    ValueCase(input: "$3\r\nfoo\r\n", expected: .bulk("foo")),
    ValueCase(input: "$0\r\n\r\n", expected: .bulk("")),
    ValueCase(input: "$4\r\na\r\nb\r\n", expected: .bulk("a\r\nb")),
    ValueCase(input: "$-1\r\n", expected: .null),
    ValueCase(input: "*-1\r\n", expected: .nullArray),
    ValueCase(input: "*0\r\n", expected: .array([])),
    ValueCase(input: "*2\r\n$1\r\na\r\n:1\r\n", expected: .array([.bulk("a"), .integer(1)])),
    ValueCase(
        input: "*2\r\n*1\r\n+x\r\n*-1\r\n", expected: .array([.array([.simpleString("x")]), .nullArray])),
    // RESP3
    ValueCase(input: "_\r\n", expected: .null),
    ValueCase(input: ",1.5\r\n", expected: .double(1.5)),
    ValueCase(input: ",0.10000000000000001\r\n", expected: .double(0.1)),
    ValueCase(input: ",-2e-3\r\n", expected: .double(-0.002)),
    ValueCase(input: ",inf\r\n", expected: .double(.infinity)),
    ValueCase(input: ",-inf\r\n", expected: .double(-.infinity)),
    ValueCase(input: "#t\r\n", expected: .boolean(true)),
    ValueCase(input: "#f\r\n", expected: .boolean(false)),
    ValueCase(input: "(3492890328409238509324850943850943825024385\r\n",
              expected: .bigNumber("3492890328409238509324850943850943825024385")),
    ValueCase(input: "(-12\r\n", expected: .bigNumber("-12")),
    ValueCase(input: "=15\r\ntxt:Some string\r\n", expected: .verbatimString(format: "txt", text: bytes("Some string"))),
    ValueCase(input: "=4\r\nmkd:\r\n", expected: .verbatimString(format: "mkd", text: [])),
    ValueCase(input: "!8\r\nERR a\r\nb\r\n", expected: .error("ERR a\r\nb")),
    ValueCase(input: "%0\r\n", expected: .map([])),
    ValueCase(
        input: "%2\r\n+a\r\n:1\r\n$1\r\nb\r\n#f\r\n",
        expected: .map([RESPPair(.simpleString("a"), .integer(1)), RESPPair(.bulk("b"), .boolean(false))])),
    ValueCase(input: "~2\r\n:1\r\n:2\r\n", expected: .set([.integer(1), .integer(2)])),
    ValueCase(
        input: ">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n", expected: .push([.bulk("message"), .bulk("hi")])),
    // An attribute is dropped and the value it annotates returned.
    ValueCase(input: "|1\r\n+ttl\r\n:3\r\n:42\r\n", expected: .integer(42)),
    ValueCase(input: "*1\r\n|1\r\n+a\r\n+b\r\n#t\r\n", expected: .array([.boolean(true)])),
]

@Suite("RESP value parser")
struct RESPValueParserTests {
    @Test("Each frame parses to its value", arguments: valueCases)
    func parsesEachFrame(_ valueCase: ValueCase) throws {
        let values = try parseValues(bytes(valueCase.input)).get()
        #expect(values == [valueCase.expected])
    }

    @Test("Each frame parses the same however it is chunked", arguments: valueCases)
    func parsesEachFrameIncrementally(_ valueCase: ValueCase) throws {
        try verifyIncremental(valuePairs: [(bytes(valueCase.input), [valueCase.expected])])
    }

    @Test("All frames concatenated parse the same however they are chunked")
    func parsesAllFramesIncrementally() throws {
        try verifyIncremental(valuePairs: valueCases.map { (bytes($0.input), [$0.expected]) })
    }

    @Test("NaN parses as NaN")
    func parsesNaN() throws {
        for text in [",nan\r\n", ",-nan\r\n"] {
            let values = try parseValues(bytes(text)).get()
            guard case .double(let number)? = values.first else {
                Issue.record("\(text) gave \(values)")
                continue
            }
            #expect(number.isNaN)
        }
    }

    @Test("An incomplete frame yields nothing and keeps its bytes")
    func incompleteFrameWaits() throws {
        let frame = bytes("*2\r\n$5\r\nhello\r\n:7\r\n")
        for cut in 0..<frame.count {
            var parser = RESPParser()
            parser.append(frame[..<cut])
            #expect(try parser.nextValue() == nil, "cut at \(cut)")
            #expect(parser.bufferedByteCount == cut)
            parser.append(frame[cut...])
            #expect(try parser.nextValue() == .array([.bulk("hello"), .integer(7)]))
            #expect(parser.byteOffset == frame.count)
        }
    }

    @Test("A large bulk arriving in pieces is not re-scanned until it is complete")
    func largeBulkWaitsForItsBytes() throws {
        let payload = [UInt8](repeating: 0x61, count: 100_000)
        var frame = bytes("$100000\r\n")
        frame += payload
        frame += bytes("\r\n")
        var parser = RESPParser()
        var index = 0
        while index < frame.count - 1000 {
            parser.append(frame[index..<(index + 1000)])
            #expect(try parser.nextValue() == nil)
            index += 1000
        }
        parser.append(frame[index...])
        #expect(try parser.nextValue() == .bulkString(payload))
        #expect(parser.bufferedByteCount == 0)
    }
}
