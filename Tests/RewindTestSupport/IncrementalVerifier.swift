// Feeds a decoder its input in every chunking that matters, as swift-nio's
// ByteToMessageDecoderVerifier does, and checks that the chunking never changes the output.

import RewindRESP

/// A difference between what a decoder produced and what it should have, under one feeding.
public struct IncrementalMismatch: Error, CustomStringConvertible {
    /// How the input was fed, e.g. `byte by byte` or `random chunks (seed 7)`.
    public var feeding: String
    public var expected: String
    public var actual: String

    public var description: String {
        "fed \(feeding): expected \(expected), got \(actual)"
    }
}

/// Checks that a decoder returns the same outputs however its input is split into chunks.
///
/// Each input is fed whole, byte by byte, and in random chunks that include empty ones (with
/// `randomRoundCount` seeds derived from `seed`); then all inputs are fed concatenated, whole and
/// in random chunks. After each chunk every available output is drained. Every feeding must yield
/// exactly the expected outputs, in order, and leave no bytes buffered.
///
/// - Parameters:
///   - pairs: Inputs and the outputs each must decode to.
///   - makeDecoder: Makes a fresh decoder for each feeding.
///   - feed: Appends a chunk of bytes.
///   - next: Returns the next output, or nil when more bytes are needed.
///   - bufferedByteCount: Bytes the decoder still holds; must be 0 at the end.
/// - Throws: ``IncrementalMismatch`` for the first feeding that differs, or the decoder's error.
public func verifyIncremental<Decoder, Output: Equatable>(
    pairs: [(input: [UInt8], expected: [Output])],
    seed: UInt64 = 0x5EED,
    randomRoundCount: Int = 8,
    makeDecoder: () -> Decoder,
    feed: (inout Decoder, [UInt8]) -> Void,
    next: (inout Decoder) throws -> Output?,
    bufferedByteCount: (Decoder) -> Int
) throws {
    var random = SeededRandom(seed: seed)

    func run(_ chunks: [[UInt8]], expected: [Output], feeding: String) throws {
        var decoder = makeDecoder()
        var outputs: [Output] = []
        for chunk in chunks {
            feed(&decoder, chunk)
            while let output = try next(&decoder) {
                outputs.append(output)
            }
        }
        guard outputs == expected else {
            throw IncrementalMismatch(feeding: feeding, expected: "\(expected)", actual: "\(outputs)")
        }
        let leftover = bufferedByteCount(decoder)
        guard leftover == 0 else {
            throw IncrementalMismatch(feeding: feeding, expected: "no bytes left", actual: "\(leftover) bytes left")
        }
    }

    func randomChunks(_ bytes: [UInt8]) -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            // About one chunk in five is empty, to check that an empty append changes nothing.
            let length = Int.random(in: 0...4, using: &random) == 0 ? 0 : Int.random(in: 1...8, using: &random)
            let end = min(bytes.count, index + length)
            chunks.append(Array(bytes[index..<end]))
            index = end
        }
        chunks.append([])
        return chunks
    }

    for (pairIndex, pair) in pairs.enumerated() {
        try run([pair.input], expected: pair.expected, feeding: "input \(pairIndex) whole")
        try run(pair.input.map { [$0] }, expected: pair.expected, feeding: "input \(pairIndex) byte by byte")
        for round in 0..<randomRoundCount {
            try run(
                randomChunks(pair.input), expected: pair.expected,
                feeding: "input \(pairIndex) in random chunks (seed \(seed), round \(round))")
        }
    }
    let allInput = pairs.flatMap(\.input)
    let allExpected = pairs.flatMap(\.expected)
    try run([allInput], expected: allExpected, feeding: "all inputs concatenated")
    try run(allInput.map { [$0] }, expected: allExpected, feeding: "all inputs concatenated, byte by byte")
    for round in 0..<randomRoundCount {
        try run(
            randomChunks(allInput), expected: allExpected,
            feeding: "all inputs concatenated, random chunks (seed \(seed), round \(round))")
    }
}

/// ``verifyIncremental(pairs:seed:randomRoundCount:makeDecoder:feed:next:bufferedByteCount:)`` for
/// ``RESPParser/nextValue()``.
public func verifyIncremental(
    valuePairs pairs: [(input: [UInt8], expected: [RESPValue])], limits: RESPLimits = .redis, seed: UInt64 = 0x5EED
) throws {
    try verifyIncremental(
        pairs: pairs, seed: seed, makeDecoder: { RESPParser(limits: limits) },
        feed: { $0.append($1) }, next: { try $0.nextValue() }, bufferedByteCount: { $0.bufferedByteCount })
}

/// What ``verifyIncremental(requestPairs:limits:seed:)`` compares: a request's arguments, its
/// length in bytes and its kind (absolute offsets differ once inputs are concatenated).
public struct RequestShape: Equatable, CustomStringConvertible {
    public var arguments: [[UInt8]]
    public var byteCount: Int
    public var isInline: Bool

    public init(arguments: [[UInt8]], byteCount: Int, isInline: Bool) {
        self.arguments = arguments
        self.byteCount = byteCount
        self.isInline = isInline
    }

    public init(_ request: RESPRequest) {
        self.init(arguments: request.arguments, byteCount: request.byteRange.count, isInline: request.isInline)
    }

    public var description: String {
        "\(arguments.map { ByteQuoting.quoted($0) }.joined(separator: " ")) (\(byteCount) bytes\(isInline ? ", inline" : ""))"
    }
}

/// ``verifyIncremental(pairs:seed:randomRoundCount:makeDecoder:feed:next:bufferedByteCount:)`` for
/// ``RESPParser/nextRequest()``.
public func verifyIncremental(
    requestPairs pairs: [(input: [UInt8], expected: [RequestShape])], limits: RESPLimits = .redis,
    seed: UInt64 = 0x5EED
) throws {
    try verifyIncremental(
        pairs: pairs, seed: seed, makeDecoder: { RESPParser(limits: limits) },
        feed: { $0.append($1) }, next: { try $0.nextRequest().map(RequestShape.init) },
        bufferedByteCount: { $0.bufferedByteCount })
}
