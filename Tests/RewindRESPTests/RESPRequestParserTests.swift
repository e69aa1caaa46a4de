import RewindRESP
import RewindTestSupport
import Testing

/// One request stream and the commands Redis 7.0 reads from it.
///
/// The expectations for the lenient and surprising cases were captured from redis-server 7.0.15:
/// each input was sent over a raw socket (Python `socket.sendall`, reply read back) and the reply
/// showed what Redis parsed, e.g. `echo a"b c"` came back as `$4\r\nab c\r\n`.
struct RequestCase: CustomTestStringConvertible, Sendable {
    var input: String
    var expected: [[String]]
    var isInline: Bool
    var testDescription: String { ByteQuoting.quoted(Array(input.utf8)) }
}

let requestCases: [RequestCase] = [
    RequestCase(input: "*1\r\n$4\r\nPING\r\n", expected: [["PING"]], isInline: false),
    RequestCase(input: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", expected: [["SET", "k", ""]], isInline: false),
    RequestCase(input: "*1\r\n$4\r\na\r\nb\r\n", expected: [["a\r\nb"]], isInline: false),
    // Redis skips the two bytes after a payload and the byte after a header's \r without checking.
    RequestCase(input: "*1\r\n$4\r\npingXY", expected: [["ping"]], isInline: false),
    RequestCase(input: "*1\rX$4\rXpingXY", expected: [["ping"]], isInline: false),
    // Counts of zero or below are empty commands, skipped.
    RequestCase(input: "*0\r\n*-5\r\n*1\r\n$1\r\nx\r\n", expected: [["x"]], isInline: false),
    RequestCase(input: "PING\r\n", expected: [["PING"]], isInline: true),
    RequestCase(input: "ping\n", expected: [["ping"]], isInline: true),
    RequestCase(input: "\r\n\r\n  ping   \r\n", expected: [["ping"]], isInline: true),
    RequestCase(input: "ping\rx\n", expected: [["ping", "x"]], isInline: true),
    RequestCase(input: "echo a\rb\r\n", expected: [["echo", "a", "b"]], isInline: true),
    RequestCase(input: "echo \"a\"\r\n", expected: [["echo", "a"]], isInline: true),
    RequestCase(input: "echo \"\" x\r\n", expected: [["echo", "", "x"]], isInline: true),
    RequestCase(input: "echo a\"b c\"\r\n", expected: [["echo", "ab c"]], isInline: true),
    RequestCase(input: "echo \t a\u{0B}b\u{0C}c\r\n", expected: [["echo", "a\u{0B}b\u{0C}c"]], isInline: true),
    RequestCase(input: "echo \"\\x41\\x4g\\t\"\r\n", expected: [["echo", "Ax4g\t"]], isInline: true),
    RequestCase(input: "echo '\\'b\\n'\r\n", expected: [["echo", "'b\\n"]], isInline: true),
    RequestCase(input: "echo \"\\\"\\\\\\a\\b\\z\"\r\n", expected: [["echo", "\"\\\u{07}\u{08}z"]], isInline: true),
]

@Suite("RESP request parser")
struct RESPRequestParserTests {
    @Test("Each request stream gives Redis's commands", arguments: requestCases)
    func parsesLikeRedis(_ requestCase: RequestCase) throws {
        let requests = try parseRequests(bytes(requestCase.input)).get()
        #expect(requests.map { $0.arguments.map { String(decoding: $0, as: UTF8.self) } } == requestCase.expected)
        #expect(requests.allSatisfy { $0.isInline == requestCase.isInline })
        #expect(requests.last?.endByteOffset == requestCase.input.utf8.count)
    }

    @Test("Each request stream parses the same however it is chunked", arguments: requestCases)
    func parsesIncrementally(_ requestCase: RequestCase) throws {
        let input = bytes(requestCase.input)
        let whole = try parseRequests(input).get().map(RequestShape.init)
        #expect(whole.map(\.arguments) == requestCase.expected.map { $0.map(bytes) })
        try verifyIncremental(requestPairs: [(input, whole)])
    }

    @Test("All request streams concatenated parse the same however they are chunked")
    func parsesAllIncrementally() throws {
        let pairs = try requestCases.map { requestCase in
            let input = bytes(requestCase.input)
            return (input: input, expected: try parseRequests(input).get().map(RequestShape.init))
        }
        try verifyIncremental(requestPairs: pairs)
    }

    @Test("Each command reports its start and end offset in the stream")
    func reportsOffsets() throws {
        // 0: *2 GET k (20 bytes), 20: blank line, 22: inline PING (6 bytes), 28: *0 (skipped), 32: *1 x
        let input = bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\r\nPING\r\n*0\r\n*1\r\n$1\r\nx\r\n")
        let requests = try parseRequests(input).get()
        #expect(requests.map(\.byteRange) == [0..<20, 22..<28, 32..<43])
        #expect(requests.map(\.isInline) == [false, true, false])
        // Offsets stay absolute after the parser has released consumed bytes.
        var parser = RESPParser()
        var ranges: [Range<Int>] = []
        let command = bytes("*1\r\n$4\r\nPING\r\n")
        for _ in 0..<1000 {
            parser.append(command)
            while let request = try parser.nextRequest() { ranges.append(request.byteRange) }
        }
        #expect(ranges == (0..<1000).map { ($0 * 14)..<($0 * 14 + 14) })
    }

    @Test("A NUL in a header line hides its end, as Redis's strchr does")
    func nulHidesHeaderEnd() throws {
        for input in ["*1\u{0}\r\n$4\r\nping\r\n", "*1\r\n$4\u{0}\r\nping\r\n", "ping\u{0}\r\nping\r\n"] {
            var parser = RESPParser()
            parser.append(bytes(input))
            #expect(try parser.nextRequest() == nil, "\(ByteQuoting.quoted(bytes(input)))")
        }
        // A NUL inside a bulk payload is data.
        #expect(try parseRequests(bytes("*1\r\n$3\r\na\u{0}b\r\n")).get().map(\.arguments) == [[[97, 0, 98]]])
    }

    @Test("A huge announced count or length is not reserved before its bytes arrive")
    func hugePrefixesAreNotReserved() throws {
        var parser = RESPParser()
        parser.append(bytes("*2147483647\r\n$536870912\r\nabc"))
        #expect(try parser.nextRequest() == nil)
        #expect(parser.storageCapacityByteCount < 4096)
        var valueParser = RESPParser()
        valueParser.append(bytes("*2147483647\r\n*2147483647\r\n$536870912\r\nabc"))
        #expect(try valueParser.nextValue() == nil)
        #expect(valueParser.storageCapacityByteCount < 4096)
    }

    @Test("Packed reading gives the commands and errors of array reading, in both storage modes, however chunked",
          arguments: [1 as UInt64, 2, 3])
    func packedReadingMatchesArrays(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var stream: [UInt8] = []
        for _ in 0..<200 {
            var piece = bytes(requestCases[Int(random.next() % UInt64(requestCases.count))].input)
            // Now and then a flipped byte: the error, and where it stops, must agree too.
            if random.next() % 40 == 0, !piece.isEmpty { piece[Int(random.next() % UInt64(piece.count))] ^= 0x5A }
            stream += piece
        }
        let expected: ([[[UInt8]]], RESPParseError?) = {
            switch parseRequests(stream) {
            case .success(let requests): return (requests.map(\.arguments), nil)
            case .failure(let error):
                // The commands before the error.
                var parser = RESPParser()
                parser.append(stream)
                var commands: [[[UInt8]]] = []
                while let request = try? parser.nextRequest() { commands.append(request.arguments) }
                return (commands, error)
            }
        }()
        for packs in [false, true] {
            for readsPacked in [false, true] {
                var parser = RESPParser()
                parser.packsArguments = packs
                var commands: [[[UInt8]]] = []
                var failure: RESPParseError?
                var offset = 0
                feeding: while offset < stream.count {
                    let size = min(stream.count - offset, 1 + Int(random.next() % 40))
                    parser.append(stream[offset..<offset + size])
                    offset += size
                    do {
                        if readsPacked {
                            while try parser.nextPackedRequest() {
                                let arguments = parser.packedArgumentArrays()
                                // The packed view holds the same bytes.
                                let viewed = parser.withPackedRequest { bytes, ends in (Array(bytes), Array(ends)) }
                                #expect(viewed.0 == arguments.flatMap { $0 } && viewed.1.count == arguments.count)
                                commands.append(arguments)
                            }
                        } else {
                            while let request = try parser.nextRequest() { commands.append(request.arguments) }
                        }
                    } catch {
                        failure = error as? RESPParseError
                        break feeding
                    }
                }
                #expect(commands == expected.0, "packs \(packs), reads packed \(readsPacked)")
                #expect(failure == expected.1, "packs \(packs), reads packed \(readsPacked)")
            }
        }
    }

    @Test("The look ahead finds the key of each whole request not read yet, and stops at a partial one")
    func scanFindsBufferedKeys() throws {
        var random = SeededRandom(seed: 5)
        var stream: [UInt8] = []
        var keys: [[UInt8]?] = []
        for number in 0..<40 {
            let key = Array("key:\(number)".utf8)
            switch random.next() % 3 {
            case 0:
                stream += bytes("*1\r\n$4\r\nPING\r\n")
                keys.append(nil)
            case 1:
                stream += bytes("*3\r\n$3\r\nSET\r\n$\(key.count)\r\n") + key + bytes("\r\n$1\r\nv\r\n")
                keys.append(key)
            default:
                stream += bytes("*2\r\n$4\r\nINCR\r\n$\(key.count)\r\n") + key + bytes("\r\n")
                keys.append(key)
            }
        }
        var parser = RESPParser()
        parser.packsArguments = true
        let cut = stream.count - 5  // the last request is not whole yet
        parser.append(stream[..<cut])
        var read = 0
        while read < keys.count - 1 {
            var found: [[UInt8]] = []
            let limit = 1 + Int(random.next() % 12)
            let scanned = parser.scanBufferedRequests(limit: limit) { found.append(Array($0)) }
            let expectedCount = min(limit, keys.count - 1 - read)
            #expect(scanned == expectedCount)
            #expect(found == keys[read..<read + expectedCount].compactMap { $0 })
            // Reading one request moves the look ahead past it.
            #expect(try parser.nextPackedRequest())
            read += 1
        }
        #expect(parser.scanBufferedRequests(limit: 8) { _ in } == 0)
        #expect(try !parser.nextPackedRequest())
        // The parser has begun the partial request: the look ahead leaves it to the parser.
        parser.append(stream[cut...])
        #expect(parser.scanBufferedRequests(limit: 8) { _ in } == 0)
        #expect(try parser.nextPackedRequest())
        #expect(parser.packedArgumentArrays().count >= 1)
    }
}
