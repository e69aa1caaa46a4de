// PFDEBUG ENCODING/GETREG/TODENSE/DECODE, as Redis 7.0 answers them (redis src/hyperloglog.c
// pfdebugCommand), read from the HyperLogLog string through the engine's own decoding
// (`HyperLogLog.registers(of:)`, `denseString(_:)`); DECODE walks the sparse opcodes after the
// 16-byte header itself, for their text. A conversion to dense is
// logged as `SET key <dense bytes> KEEPTTL`, so replay never needs PFDEBUG.

import RewindEngine
import RewindRESP

extension ServerCore {
    func pfdebugCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler, now: Int64) {
        let subcommand = Clock.lowercased(arguments[1])
        let key = arguments[2]
        let value = internalCommand(["GET", key], connection, now: now)
        guard case .bulkString(let bytes) = value else {
            if case .error = value {
                reply(connection, .error("WRONGTYPE Key is not a valid HyperLogLog string value."))
            } else {
                reply(connection, .error("ERR The specified key does not exist"))
            }
            return
        }
        // Redis `isHLLObjectOrReply`: the magic, a known encoding, a dense value's exact length.
        guard HyperLogLog.isValid(bytes) else {
            reply(connection, .error("WRONGTYPE Key is not a valid HyperLogLog string value."))
            return
        }
        let isSparse = bytes[4] == 1
        /// The registers, converting a sparse value to dense as Redis does for GETREG and
        /// TODENSE (logged as a SET); nil after replying INVALIDOBJ to a corrupted value.
        func denseRegisters() -> [UInt8]? {
            guard let dense = HyperLogLog.denseString(bytes), let registers = HyperLogLog.registers(of: dense) else {
                reply(connection, .error("INVALIDOBJ Corrupted HLL object detected"))
                return nil
            }
            if isSparse { _ = internalCommand(["SET", key, dense, "KEEPTTL"], connection, now: now) }
            return registers
        }
        switch subcommand {
        case "getreg" where arguments.count == 3:
            guard let registers = denseRegisters() else { return }
            connection.send(.array(registers.map { .integer(Int64($0)) }), after: sequenceSeenByReads)
        case "encoding" where arguments.count == 3:
            reply(connection, .simpleString(isSparse ? "sparse" : "dense"))
        case "todense" where arguments.count == 3:
            guard denseRegisters() != nil else { return }
            connection.send(.integer(isSparse ? 1 : 0), after: sequenceSeenByReads)
        case "decode" where arguments.count == 3:
            guard isSparse else {
                reply(connection, .error("ERR HLL encoding is not sparse"))
                return
            }
            reply(connection, .bulk(Self.describeSparse(bytes)))
        case "getreg", "encoding", "todense", "decode":
            reply(connection, .error("ERR Wrong number of arguments for the '\(String(decoding: arguments[1], as: UTF8.self))' subcommand"))
        default:
            reply(connection, .error("ERR Unknown PFDEBUG subcommand '\(String(decoding: arguments[1], as: UTF8.self))'"))
        }
    }

    /// PFDEBUG DECODE's text: `z:n` (ZERO), `Z:n` (XZERO) and `v:value,n` (VAL) per opcode.
    private static func describeSparse(_ bytes: [UInt8]) -> String {
        var parts: [String] = []
        var offset = 16  // after the header
        while offset < bytes.count {
            let opcode = bytes[offset]
            if opcode & 0xc0 == 0 {
                parts.append("z:\(Int(opcode & 0x3f) + 1)")
                offset += 1
            } else if opcode & 0xc0 == 0x40, offset + 1 < bytes.count {
                parts.append("Z:\((Int(opcode & 0x3f) << 8 | Int(bytes[offset + 1])) + 1)")
                offset += 2
            } else {
                parts.append("v:\(Int((opcode >> 2) & 0x1f) + 1),\(Int(opcode & 3) + 1)")
                offset += 1
            }
        }
        return parts.joined(separator: " ")
    }
}
