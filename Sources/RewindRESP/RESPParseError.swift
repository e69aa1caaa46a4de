// Errors of the RESP parser. Redis's texts were checked against redis-server 7.0.15 by sending the
// offending bytes over a raw socket (see Tests/RewindRESPTests/RESPParseErrorTests.swift).

/// Malformed or over-limit RESP input, with the absolute byte offset where the problem is.
///
/// This is an operating error: it describes bytes that came from outside (a client, a file), never
/// a bug in the caller. `byteOffset` counts from the first byte ever appended to the parser, so an
/// AOF importer can point at the exact place in the file. It is the offset of the first byte of
/// the offending token: the type byte that was unexpected, the first digit of a bad length, or the
/// start of a line that never ended.
///
/// `code` is extensible: compare it with the static members (`error.code == .invalidBulkLength`).
public struct RESPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem the input has.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: Hashable, Sendable {
            case invalidMultibulkLength, multibulkCountTooLarge, invalidBulkLength, bulkLengthTooLarge
            case unexpectedByte, nestingTooDeep, invalidInteger, invalidDouble, invalidBoolean
            case invalidBigNumber, invalidVerbatimString, unbalancedQuotes
            case inlineRequestTooLong, multibulkCountLineTooLong, bulkLengthLineTooLong, lineTooLong
            case unauthenticatedMultibulkLength, unauthenticatedBulkLength
        }

        fileprivate let base: Base

        /// An aggregate count that is not a valid integer, or negative where the protocol forbids it.
        public static let invalidMultibulkLength = Code(base: .invalidMultibulkLength)
        /// An aggregate count above ``RESPLimits/multibulkCountMax``.
        public static let multibulkCountTooLarge = Code(base: .multibulkCountTooLarge)
        /// A bulk length that is not a valid integer, or negative where the protocol forbids it.
        public static let invalidBulkLength = Code(base: .invalidBulkLength)
        /// A bulk length above ``RESPLimits/bulkByteCountMax``.
        public static let bulkLengthTooLarge = Code(base: .bulkLengthTooLarge)
        /// A byte that cannot start or continue the frame here (an unknown type, a missing CRLF).
        public static let unexpectedByte = Code(base: .unexpectedByte)
        /// Aggregates nested deeper than ``RESPLimits/aggregateDepthMax``.
        public static let nestingTooDeep = Code(base: .nestingTooDeep)
        /// A `:` integer that is not a decimal 64-bit signed integer.
        public static let invalidInteger = Code(base: .invalidInteger)
        /// A `,` double that is not a decimal floating-point number, `inf`, `-inf` or `nan`.
        public static let invalidDouble = Code(base: .invalidDouble)
        /// A `#` boolean other than `t` or `f`.
        public static let invalidBoolean = Code(base: .invalidBoolean)
        /// A `(` big number that is not an optionally negative run of decimal digits.
        public static let invalidBigNumber = Code(base: .invalidBigNumber)
        /// A `=` verbatim string without its three-byte format and colon.
        public static let invalidVerbatimString = Code(base: .invalidVerbatimString)
        /// An inline command or quoted line whose quotes do not close properly.
        public static let unbalancedQuotes = Code(base: .unbalancedQuotes)
        /// An inline command line longer than ``RESPLimits/lineByteCountMax`` without a newline.
        public static let inlineRequestTooLong = Code(base: .inlineRequestTooLong)
        /// A request's `*` count line longer than ``RESPLimits/lineByteCountMax``.
        public static let multibulkCountLineTooLong = Code(base: .multibulkCountLineTooLong)
        /// A request's `$` length line longer than ``RESPLimits/lineByteCountMax``.
        public static let bulkLengthLineTooLong = Code(base: .bulkLengthLineTooLong)
        /// A line of a reply (simple string, error, number) longer than ``RESPLimits/lineByteCountMax``.
        public static let lineTooLong = Code(base: .lineTooLong)
        /// More than 10 arguments from a client that has not authenticated yet (Redis 7.0's bound
        /// while `requirepass` is set; see ``RESPParser/requiresAuthentication``).
        public static let unauthenticatedMultibulkLength = Code(base: .unauthenticatedMultibulkLength)
        /// An argument longer than 16,384 bytes from a client that has not authenticated yet.
        public static let unauthenticatedBulkLength = Code(base: .unauthenticatedBulkLength)

        public var description: String {
            switch base {
            case .invalidMultibulkLength: return "invalid multibulk length"
            case .unauthenticatedMultibulkLength: return "unauthenticated multibulk length"
            case .unauthenticatedBulkLength: return "unauthenticated bulk length"
            case .multibulkCountTooLarge: return "multibulk count too large"
            case .invalidBulkLength: return "invalid bulk length"
            case .bulkLengthTooLarge: return "bulk length too large"
            case .unexpectedByte: return "unexpected byte"
            case .nestingTooDeep: return "aggregates nested too deep"
            case .invalidInteger: return "invalid integer"
            case .invalidDouble: return "invalid double"
            case .invalidBoolean: return "invalid boolean"
            case .invalidBigNumber: return "invalid big number"
            case .invalidVerbatimString: return "invalid verbatim string"
            case .unbalancedQuotes: return "unbalanced quotes"
            case .inlineRequestTooLong: return "inline request too long"
            case .multibulkCountLineTooLong: return "multibulk count line too long"
            case .bulkLengthLineTooLong: return "bulk length line too long"
            case .lineTooLong: return "line too long"
            }
        }
    }

    /// What kind of problem the input has.
    public var code: Code
    /// The absolute offset, from the first byte given to the parser, of the offending token.
    public var byteOffset: Int
    /// For ``Code/unexpectedByte``: the byte that was found.
    public var foundByte: UInt8?
    /// What Redis would have said to the client, without `-ERR ` or CRLF; nil when Redis never
    /// parses this input (RESP3 replies) and so has no message for it.
    private var redisMessageBytes: [UInt8]?

    /// Creates an error. Parsers fill in Redis's message when the input is one Redis would read.
    public init(code: Code, byteOffset: Int, foundByte: UInt8? = nil, redisMessage: [UInt8]? = nil) {
        self.code = code
        self.byteOffset = byteOffset
        self.foundByte = foundByte
        self.redisMessageBytes = redisMessage
    }

    /// One line: the place, then what is wrong, e.g. `byte 1042: invalid bulk length`.
    public var description: String {
        var text = "byte \(byteOffset): \(code)"
        if let foundByte {
            text += " " + ByteQuoting.quoted([foundByte])
        }
        return text
    }

    /// Redis 7.0's message for this input, such as `Protocol error: invalid bulk length`, or nil.
    ///
    /// Redis replies `-ERR ` followed by this text and closes the connection. The text can hold
    /// any byte (`expected '$', got '\xff'` is sent raw), so ``redisErrorReply`` is the exact form;
    /// this property decodes it as UTF-8 for display.
    public var redisMessage: String? {
        redisMessageBytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The exact bytes Redis 7.0 sends for this input (`-ERR Protocol error: ...\r\n`), or nil.
    public var redisErrorReply: [UInt8]? {
        guard let redisMessageBytes else { return nil }
        return Array("-ERR ".utf8) + redisMessageBytes + [13, 10]
    }
}

// MARK: - Redis's messages

extension RESPParseError {
    /// Redis's messages for request errors, in one place (Redis `processMultibulkBuffer`,
    /// `processInlineBuffer`, `setProtocolError`).
    enum RedisMessage {
        static let invalidMultibulkLength = Array("Protocol error: invalid multibulk length".utf8)
        static let invalidBulkLength = Array("Protocol error: invalid bulk length".utf8)
        static let unauthenticatedMultibulkLength = Array("Protocol error: unauthenticated multibulk length".utf8)
        static let unauthenticatedBulkLength = Array("Protocol error: unauthenticated bulk length".utf8)
        static let unbalancedQuotes = Array("Protocol error: unbalanced quotes in request".utf8)
        static let inlineRequestTooLong = Array("Protocol error: too big inline request".utf8)
        static let multibulkCountLineTooLong = Array("Protocol error: too big mbulk count string".utf8)
        static let bulkLengthLineTooLong = Array("Protocol error: too big bulk count string".utf8)

        /// `expected '$', got 'x'`. Redis formats the byte with `%c` and then, like every formatted
        /// error, turns CR and LF into spaces so the reply stays one line.
        static func expectedDollar(got byte: UInt8) -> [UInt8] {
            let shown: UInt8 = (byte == 13 || byte == 10) ? 32 : byte
            return Array("Protocol error: expected '$', got '".utf8) + [shown, 39]
        }
    }
}
