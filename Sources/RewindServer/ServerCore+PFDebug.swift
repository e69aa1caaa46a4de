// PFDEBUG ENCODING/GETREG/TODENSE/DECODE, as Redis 7.0 answers them (redis src/hyperloglog.c
// pfdebugCommand), read from the HyperLogLog string's own bytes: a 16-byte header ("HYLL", the
// encoding byte, three unused bytes, an 8-byte cached cardinality), then either 16384 6-bit
// registers packed little-endian (dense) or run-length opcodes (sparse). A conversion to dense is
// logged as `SET key <dense bytes> KEEPTTL`, so replay never needs PFDEBUG.

import RewindEngine
import RewindRESP

private enum HyperLogLogBytes {
    static let registerCount = 16384
    static let headerByteCount = 16
    static let denseByteCount = headerByteCount + registerCount * 6 / 8

    /// The registers, or nil when `bytes` is not a well-formed HyperLogLog.
    static func registers(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= headerByteCount, Array(bytes[0..<4]) == Array("HYLL".utf8) else { return nil }
        switch bytes[4] {
        case 0:
            guard bytes.count == denseByteCount else { return nil }
            return (0..<registerCount).map { index in
                let bit = index * 6, byte = headerByteCount + bit / 8, shift = bit % 8
                let low = Int(bytes[byte]) >> shift
                let high = byte + 1 < bytes.count ? Int(bytes[byte + 1]) << (8 - shift) : 0
                return UInt8((low | high) & 63)
            }
        case 1:
            var registers: [UInt8] = []
            registers.reserveCapacity(registerCount)
            var offset = headerByteCount
            while offset < bytes.count {
                let opcode = bytes[offset]
                if opcode & 0xc0 == 0 {  // ZERO: 00xxxxxx, run of xxxxxx+1 zeros
                    registers += repeatElement(0, count: Int(opcode & 0x3f) + 1)
                    offset += 1
                } else if opcode & 0xc0 == 0x40 {  // XZERO: 01xxxxxx yyyyyyyy, 14-bit run + 1
                    guard offset + 1 < bytes.count else { return nil }
                    registers += repeatElement(0, count: (Int(opcode & 0x3f) << 8 | Int(bytes[offset + 1])) + 1)
                    offset += 2
                } else {  // VAL: 1vvvvvxx, run of xx+1 registers of value vvvvv+1
                    registers += repeatElement(((opcode >> 2) & 0x1f) + 1, count: Int(opcode & 3) + 1)
                    offset += 1
                }
                if registers.count > registerCount { return nil }
            }
            return registers.count == registerCount ? registers : nil
        default:
            return nil
        }
    }

    /// `bytes` (sparse) rewritten dense, the header kept but for the encoding byte.
    static func dense(header: ArraySlice<UInt8>, registers: [UInt8]) -> [UInt8] {
        var result = Array(header)
        result[4] = 0
        result += repeatElement(0, count: registerCount * 6 / 8)
        for (index, value) in registers.enumerated() {
            let bit = index * 6, byte = headerByteCount + bit / 8, shift = bit % 8
            result[byte] |= UInt8(truncatingIfNeeded: Int(value) << shift)
            if shift > 2 { result[byte + 1] |= UInt8(truncatingIfNeeded: Int(value) >> (8 - shift)) }
        }
        return result
    }
}

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
        guard bytes.count >= HyperLogLogBytes.headerByteCount, Array(bytes[0..<4]) == Array("HYLL".utf8), bytes[4] <= 1,
              bytes[4] == 1 || bytes.count == HyperLogLogBytes.denseByteCount else {
            reply(connection, .error("WRONGTYPE Key is not a valid HyperLogLog string value."))
            return
        }
        let isSparse = bytes[4] == 1
        /// The registers, converting a sparse value to dense as Redis does for GETREG and
        /// TODENSE (logged as a SET); nil after replying INVALIDOBJ to a corrupted value.
        func denseRegisters() -> [UInt8]? {
            guard let registers = HyperLogLogBytes.registers(bytes) else {
                reply(connection, .error("INVALIDOBJ Corrupted HLL object detected"))
                return nil
            }
            if isSparse {
                let dense = HyperLogLogBytes.dense(header: bytes[0..<HyperLogLogBytes.headerByteCount], registers: registers)
                _ = internalCommand(["SET", key, dense, "KEEPTTL"], connection, now: now)
            }
            return registers
        }
        switch subcommand {
        case "getreg" where arguments.count == 3:
            guard let registers = denseRegisters() else { return }
            connection.send(.array(registers.map { .integer(Int64($0)) }), after: appendedSequence)
        case "encoding" where arguments.count == 3:
            reply(connection, .simpleString(isSparse ? "sparse" : "dense"))
        case "todense" where arguments.count == 3:
            guard denseRegisters() != nil else { return }
            connection.send(.integer(isSparse ? 1 : 0), after: appendedSequence)
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
        var offset = HyperLogLogBytes.headerByteCount
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
