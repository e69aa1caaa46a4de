// Every error reply the engine sends, byte for byte as Redis 7.0.15 sends it.
// See redis src/server.c `createSharedObjects` and the addReplyError calls of each t_*.c file;
// each text here was checked against a running redis-server 7.0.15.

import RewindRESP

/// The catalogue of Redis error replies. Command errors are replies, never Swift errors: they go
/// back to the client and are never logged.
/// A command's error reply, thrown by command bodies and caught by the dispatcher, which sends it
/// as the reply and logs nothing.
struct CommandError: Error, Equatable {
    let message: String
    init(_ message: String) { self.message = message }
    var reply: RESPValue { .error(message) }
}

enum ErrorReply {
    static let wrongType = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
    static let syntax = CommandError("ERR syntax error")
    static let notInteger = CommandError("ERR value is not an integer or out of range")
    static let notFloat = CommandError("ERR value is not a valid float")
    static let overflow = CommandError("ERR increment or decrement would overflow")
    static let decrementOverflow = CommandError("ERR decrement would overflow")
    static let noSuchKey = CommandError("ERR no such key")
    static let indexOutOfRange = CommandError("ERR index out of range")
    static let databaseIndexOutOfRange = CommandError("ERR DB index is out of range")
    static let invalidFirstDatabaseIndex = CommandError("ERR invalid first DB index")
    static let invalidSecondDatabaseIndex = CommandError("ERR invalid second DB index")
    static let sameObject = CommandError("ERR source and destination objects are the same")
    static let stringTooLong = CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    static let bitOffset = CommandError("ERR bit offset is not an integer or out of range")
    static let bitValue = CommandError("ERR bit is not an integer or out of range")
    static let bitPositionArgument = CommandError("ERR The bit argument must be 1 or 0.")
    static let bitopNotSingleSource = CommandError("ERR BITOP NOT must be called with a single source key.")
    static let bitfieldType = CommandError(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
    static let bitfieldOverflowType = CommandError("ERR Invalid OVERFLOW type specified")
    static let bitfieldReadOnly = CommandError("ERR BITFIELD_RO only supports the GET subcommand")
    static let offsetOutOfRange = CommandError("ERR offset is out of range")
    static let floatNaNOrInfinity = CommandError("ERR increment would produce NaN or Infinity")
    static let hashValueNotInteger = CommandError("ERR hash value is not an integer")
    static let hashValueNotFloat = CommandError("ERR hash value is not a float")
    static let mustBePositive = CommandError("ERR value is out of range, must be positive")
    static let invalidCursor = CommandError("ERR invalid cursor")
    static let timeoutNotFloat = CommandError("ERR timeout is not a float or out of range")
    static let timeoutNegative = CommandError("ERR timeout is negative")
    static let numkeysNotPositive = CommandError("ERR numkeys should be greater than 0")
    static let limitNegative = CommandError("ERR LIMIT can't be negative")
    static let rankZero = CommandError(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    static let maxlenNegative = CommandError("ERR MAXLEN can't be negative")
    static let countNegative = CommandError("ERR COUNT can't be negative")
    static let expireNXAndOthers = CommandError(
        "ERR NX and XX, GT or LT options at the same time are not compatible")
    static let expireGTAndLT = CommandError("ERR GT and LT options at the same time are not compatible")
    static let execWithoutMulti = CommandError("ERR EXEC without MULTI")
    static let discardWithoutMulti = CommandError("ERR DISCARD without MULTI")
    static let multiNested = CommandError("ERR MULTI calls can not be nested")
    static let watchInsideMulti = CommandError("ERR WATCH inside MULTI is not allowed")
    static let execAbort = CommandError("EXECABORT Transaction discarded because of previous errors.")
    static let invalidCommandSpecified = CommandError("ERR Invalid command specified")
    static let invalidArgumentCountSpecified = CommandError("ERR Invalid number of arguments specified for command")
    static let noKeyArguments = CommandError("ERR The command has no key arguments")
    static let lcsBothIdxAndLen = CommandError(
        "ERR If you want both the length and indexes, please just use IDX.")
    static let lcsNotStrings = CommandError(
        "ERR The specified keys must contain string values")

    /// `ERR wrong number of arguments for 'get' command`; `name` is the full lower-case name.
    static func wrongArity(_ name: String) -> CommandError {
        CommandError("ERR wrong number of arguments for '\(name)' command")
    }

    /// `ERR invalid expire time in 'set' command`.
    static func invalidExpireTime(_ commandName: String) -> CommandError {
        CommandError("ERR invalid expire time in '\(commandName)' command")
    }

    /// `ERR Unsupported option foo` (EXPIRE family).
    static func unsupportedOption(_ option: [UInt8]) -> CommandError {
        CommandError("ERR Unsupported option " + cString(option))
    }

    /// `ERR unknown subcommand 'foo'. Try COMMAND HELP.`
    static func unknownSubcommand(_ subcommand: [UInt8], container: String) -> CommandError {
        CommandError("ERR unknown subcommand '\(cString(subcommand, maxByteCount: 128))'. Try \(container) HELP.")
    }

    /// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `, as Redis `processCommand`
    /// builds it: each argument is cut at 128 bytes and arguments stop once the list reaches 128 bytes.
    static func unknownCommand(_ arguments: [[UInt8]]) -> CommandError {
        var listed: [UInt8] = []
        var index = 1
        while index < arguments.count && listed.count < 128 {
            let room = 128 - listed.count
            listed.append(UInt8(ascii: "'"))
            listed += cBytes(arguments[index]).prefix(room)
            listed += Array("' ".utf8)
            index += 1
        }
        let name = arguments.first.map { cString($0, maxByteCount: 128) } ?? ""
        let text = "ERR unknown command '\(name)', with args beginning with: " + String(decoding: listed, as: UTF8.self)
        return CommandError(sanitized(text))
    }

    /// The bytes a C `%s` would print: up to the first NUL.
    private static func cBytes(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        bytes.prefix { $0 != 0 }
    }

    static func cString(_ bytes: [UInt8], maxByteCount: Int = Int.max) -> String {
        String(decoding: cBytes(bytes).prefix(maxByteCount), as: UTF8.self)
    }

    /// Redis replaces CR and LF in error texts with spaces so the reply stays one line.
    private static func sanitized(_ text: String) -> String {
        String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }
}

extension ErrorReply {
    static let hashIncrementNaN = CommandError("ERR value is NaN or Infinity")
    static let numkeysExceedArguments = CommandError("ERR Number of keys can't be greater than number of args")
    static let valueOutOfRange = CommandError("ERR value is out of range")

    /// Redis `getRangeLongFromObjectOrReply` without a message: the value is outside `[min, max]`.
    static func valueNotBetween(_ minimum: Int64, _ maximum: Int64) -> CommandError {
        CommandError("ERR value is out of range, value must between \(minimum) and \(maximum)")
    }
}
