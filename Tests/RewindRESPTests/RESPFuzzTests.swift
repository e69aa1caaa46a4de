import RewindRESP
import RewindTestSupport
import Testing

/// Random values for round trips. RESP3 round trips exclude what RESP3 cannot tell apart
/// (`nullArray` is sent as `_`) and what the encoder rewrites (CR and LF in line strings); NaN is
/// left out because NaN != NaN.
func randomValue(depth: Int, resp2Only: Bool, using random: inout SeededRandom) -> RESPValue {
    let line = { (random: inout SeededRandom) -> String in
        String((0..<Int.random(in: 0...8, using: &random)).map { _ in
            Character(Unicode.Scalar(UInt8.random(in: 32...126, using: &random)))
        })
    }
    let kindCount = resp2Only ? 7 : 14
    let kind = Int.random(in: 0..<(depth > 3 ? 5 : kindCount), using: &random)
    let child = { (random: inout SeededRandom) -> [RESPValue] in
        (0..<Int.random(in: 0...4, using: &random)).map { _ in
            randomValue(depth: depth + 1, resp2Only: resp2Only, using: &random)
        }
    }
    switch kind {
    case 0: return .simpleString(line(&random))
    case 1: return .error(line(&random))
    case 2: return .integer(Int64(bitPattern: random.next()) >> Int64.random(in: 0...63, using: &random))
    case 3: return .bulkString(random.bytes(count: Int.random(in: 0...20, using: &random)))
    case 4: return .null
    case 5: return resp2Only ? .nullArray : .array(child(&random))
    case 6: return .array(child(&random))
    case 7: return .set(child(&random))
    case 8: return .push(child(&random))
    case 9:
        let elements = child(&random)
        return .map(elements.map { RESPPair($0, .integer(1)) })
    case 10:
        let number = Double(bitPattern: random.next())
        return .double(number.isNaN ? .infinity : number)
    case 11: return .boolean(Bool.random(using: &random))
    case 12: return .bigNumber((Bool.random(using: &random) ? "-" : "") + String(random.next()) + String(random.next()))
    default: return .verbatimString(format: "txt", text: random.bytes(count: Int.random(in: 0...10, using: &random)))
    }
}

@Suite("RESP fuzzing and round trips")
struct RESPFuzzTests {
    @Test("Random values survive encode then parse, in both protocols, however they are chunked")
    func roundTrip() throws {
        var random = SeededRandom(seed: 0xC0FFEE)
        for version in RESPVersion.allCases {
            var pairs: [(input: [UInt8], expected: [RESPValue])] = []
            for _ in 0..<400 {
                let value = randomValue(depth: 0, resp2Only: version == .resp2, using: &random)
                let encoded = value.encoded(for: version)
                #expect(try parseValues(encoded).get() == [value], "\(value)")
                pairs.append((encoded, [value]))
            }
            try verifyIncremental(valuePairs: Array(pairs.prefix(40)), seed: 3)
        }
    }

    /// Random bytes, biased toward RESP's own bytes, and valid frames with a few bytes changed.
    func fuzzInput(_ random: inout SeededRandom) -> [UInt8] {
        let alphabet = Array("*$+-:_,#(=!%~>|\r\n0123456789-\"' \\xabinft".utf8)
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            return random.bytes(count: Int.random(in: 0...48, using: &random))
        case 1:
            return (0..<Int.random(in: 0...48, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
        default:
            let resp2Only = Bool.random(using: &random)
            var frame = randomValue(depth: 0, resp2Only: resp2Only, using: &random)
                .encoded(for: resp2Only ? .resp2 : .resp3)
            for _ in 0..<Int.random(in: 1...3, using: &random) where !frame.isEmpty {
                let index = Int.random(in: 0..<frame.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: frame[index] = alphabet.randomElement(using: &random)!
                case 1: frame.remove(at: index)
                case 2: frame.insert(alphabet.randomElement(using: &random)!, at: index)
                default: frame.removeLast(Int.random(in: 0...(frame.count - index), using: &random))
                }
            }
            return frame
        }
    }

    @Test("20,000 random and mutated inputs never trap, always make progress and buffer no more than given")
    func fuzz() {
        var random = SeededRandom(seed: 0xF022)
        for _ in 0..<20_000 {
            let input = fuzzInput(&random)
            for readsRequests in [false, true] {
                var parser = RESPParser()
                var appendedByteCount = 0
                var frameCount = 0
                var offset = 0
                var failed = false
                while offset < input.count && !failed {
                    let end = min(input.count, offset + Int.random(in: 0...9, using: &random))
                    parser.append(input[offset..<end])
                    appendedByteCount += end - offset
                    offset = end
                    if readsRequests {
                        // The server's look ahead for keys reads hostile bytes too.
                        var keyByteCount = 0
                        let scanned = parser.scanBufferedRequests(limit: 8) { keyByteCount += $0.count }
                        #expect(scanned <= 8 && keyByteCount <= parser.bufferedByteCount)
                    }
                    // Each frame consumes at least one byte, so more frames than bytes means a hang.
                    while !failed && frameCount <= appendedByteCount {
                        do {
                            let produced = readsRequests ? try parser.nextRequest() != nil : try parser.nextValue() != nil
                            if !produced { break }
                            frameCount += 1
                        } catch {
                            failed = true
                        }
                    }
                    #expect(frameCount <= appendedByteCount)
                    #expect(parser.bufferedByteCount <= appendedByteCount)
                    #expect(parser.byteOffset + parser.bufferedByteCount == appendedByteCount)
                }
            }
        }
    }

    @Test("A peer that never ends its line is cut off once the line limit is passed", arguments: [
        UInt8(ascii: "a"), UInt8(ascii: "*"),
    ])
    func endlessLineIsRefused(firstByte: UInt8) throws {
        for readsRequests in [false, true] {
            var parser = RESPParser()
            parser.append([readsRequests ? firstByte : UInt8(ascii: "+")])
            var error: RESPParseError?
            var chunkCount = 0
            while error == nil && chunkCount < 1000 {
                parser.append([UInt8](repeating: firstByte == UInt8(ascii: "*") ? 49 : 97, count: 1024))
                chunkCount += 1
                do {
                    _ = readsRequests ? try parser.nextRequest().map { _ in () } : try parser.nextValue().map { _ in () }
                } catch let caught as RESPParseError {
                    error = caught
                }
            }
            let refused = try #require(error)
            #expect(refused.byteOffset == 0)
            #expect(chunkCount == 64, "refused after \(chunkCount) KiB")
            #expect(parser.bufferedByteCount <= RESPLimits.redis.lineByteCountMax + 1025)
        }
    }
}
