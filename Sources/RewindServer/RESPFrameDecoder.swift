// The thin NIO adapter over RewindRESP's request parser. See swift-nio Sources/NIOCore/Codec.swift
// for the decoder contract and RewindRESP's RESPParser for the protocol itself.

import NIOCore
import RewindRESP

/// Turns the bytes a client sends into ``RESPRequest``s, exactly as Redis 7.0 reads them.
///
/// All protocol knowledge lives in `RESPParser`; this type only moves bytes into the parser and
/// pulls whole requests out. The server feeds each read (``feed(_:)``) and takes requests packed
/// (``nextPackedRequest()``); the `NIOSingleStepByteToMessageDecoder` conformance (`decode`,
/// `decodeLast`), which NIO's verifier and the chunking tests drive, reads the same parser from
/// NIO's buffer. Use one way per decoder, not both. A malformed frame throws the parser's
/// `RESPParseError` (which carries Redis's reply text); a client whose unparsed bytes outgrow
/// ``ServerLimits/queryBufferByteCountMax`` throws ``QueryBufferLimitExceeded``.
public struct RESPFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPRequest

    private var parser: RESPParser
    private let queryBufferByteCountMax: Int
    /// Stream bytes handed to the parser so far. NIO's buffer keeps every byte the parser has not
    /// consumed yet (NIO calls `decode` again only while the buffer has readable bytes), so the
    /// bytes at the front of the buffer up to this offset are already in the parser.
    private var fedByteCount = 0

    /// Asked before each request: whether the client still has to authenticate, in which case
    /// the parser applies Redis's unauthenticated bounds (``RESPParser/requiresAuthentication``).
    /// Set by the owner once it can capture itself (a connection handler, after its `init`).
    public var requiresAuthentication: () -> Bool

    public init(limits: ServerLimits = ServerLimits(), requiresAuthentication: @escaping () -> Bool = { false }) {
        parser = RESPParser(limits: limits.parserLimits)
        queryBufferByteCountMax = limits.queryBufferByteCountMax
        self.requiresAuthentication = requiresAuthentication
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPRequest? {
        let consumedByteCount = parser.byteOffset
        let alreadyFed = fedByteCount - consumedByteCount
        if buffer.readableBytes > alreadyFed {
            buffer.withUnsafeReadableBytes { bytes in
                parser.append(UnsafeRawBufferPointer(rebasing: bytes[alreadyFed...]))
            }
            fedByteCount += buffer.readableBytes - alreadyFed
        }
        parser.requiresAuthentication = requiresAuthentication()
        let request = try parser.nextRequest()
        buffer.moveReaderIndex(forwardBy: parser.byteOffset - consumedByteCount)
        if request == nil && parser.bufferedByteCount > queryBufferByteCountMax {
            throw QueryBufferLimitExceeded(bufferedByteCount: parser.bufferedByteCount)
        }
        return request
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPRequest? {
        // A half-sent request at EOF is dropped, as Redis drops it with the client.
        try decode(buffer: &buffer)
    }

    // MARK: - Reading without NIO's processor
    //
    // The server's connections read this way: each read goes straight into the parser (NIO's
    // processor would first copy it into a buffer of its own), and requests come out packed
    // (``RESPParser/nextPackedRequest()``), with no array per argument. A decoder is used either
    // this way or through `decode(buffer:)`, never both.

    /// Hands one read's bytes to the parser.
    public mutating func feed(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { parser.append($0) }
    }

    /// Reads the next whole request fed so far into the parser's packed buffer
    /// (``withPackedRequest(_:)``); false when there is none yet. Throws as `decode(buffer:)` does.
    public mutating func nextPackedRequest() throws -> Bool {
        parser.packsArguments = true
        parser.requiresAuthentication = requiresAuthentication()
        if try parser.nextPackedRequest() { return true }
        if parser.bufferedByteCount > queryBufferByteCountMax {
            throw QueryBufferLimitExceeded(bufferedByteCount: parser.bufferedByteCount)
        }
        return false
    }

    /// Whether bytes fed are left after the last request read (the start of another request).
    public var hasBufferedBytes: Bool { parser.bufferedByteCount > 0 }

    /// Calls `body` with the second argument of each whole request fed and not read yet, at
    /// most `limit` of them (``RESPParser/scanBufferedRequests(limit:_:)``): a prefetch hint.
    /// Returns how many requests it went through.
    public mutating func scanBufferedRequests(limit: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        parser.scanBufferedRequests(limit: limit, body)
    }

    /// The request the last ``nextPackedRequest()`` read: arguments back to back, and where each ends.
    /// (Mutating, as the next one, only so that a call on a class's stored decoder borrows it in
    /// place: a non-mutating call copies the whole decoder, retaining every buffer it holds.)
    public mutating func withPackedRequest<Result>(_ body: (UnsafeRawBufferPointer, UnsafeBufferPointer<Int>) throws -> Result) rethrows -> Result {
        try parser.withPackedRequest(body)
    }

    /// The request the last ``nextPackedRequest()`` read, an array per argument.
    public mutating func packedArguments() -> [[UInt8]] { parser.packedArgumentArrays() }
}

/// A client buffered more unparsed bytes than `client-query-buffer-limit` allows. Redis closes
/// such a client without a reply; so does Rewind.
public struct QueryBufferLimitExceeded: Error, Hashable, Sendable, CustomStringConvertible {
    public var bufferedByteCount: Int
    public var description: String { "query buffer of \(bufferedByteCount) bytes exceeds client-query-buffer-limit" }
}
