import RewindLog
import RewindRESP

/// How `rewind inspect` shows entries: one readable line each, or one JSON object each.
///
/// Text: `#12  2026-11-26T10:15:03.120Z  db 0  SET "user:42" "alice"`. The command name is shown
/// as is when it is plain printable ASCII, every argument quoted as redis-cli quotes it (binary-safe:
/// `\xHH` for bytes outside printable ASCII). Transaction markers show as `MULTI` and `EXEC`,
/// checkpoints as `CHECKPOINT <digest in hex>`. A reply hash is shown as `reply=<16 hex digits>`.
///
/// JSON: `{"seq":12,"time_ms":…,"time":"…","db":0,"kind":"command","args":["SET","user:42","alice"]}`.
/// `args` holds each argument as a string: valid UTF-8 as is, and any byte that is not part of
/// valid UTF-8 as the four characters `\xHH` (so `"a\xff"` in JSON text is `a\\xff`). Because a
/// literal backslash followed by `x` would read the same, every entry with an argument that is
/// not valid UTF-8 also carries `args_base64`, the exact bytes of every argument in base64
/// (RFC 4648, with padding). `reply_hash` is present when the entry has one, as 16 lowercase hex
/// digits in a string (JSON numbers cannot hold every 64-bit value).
public enum EntryFormatting {
    /// Arguments longer than this are shortened in text output unless `full` is asked for.
    public static let shortenedArgumentByteCount = 96

    public static func textLine(_ entry: EntryView, full: Bool = false) -> String {
        var line = "#\(entry.sequence)  \(isoTime(milliseconds: entry.timestampMilliseconds))  db \(entry.db)  "
        switch entry.kind {
        case .transactionBegin: line += "MULTI"
        case .transactionEnd: line += "EXEC"
        case .checkpoint:
            line += "CHECKPOINT"
            if let digest = entry.arguments.first { line += " " + hex(digest) }
        case .command:
            var first = true
            for argument in entry.arguments {
                if !first { line += " " }
                if first && isPlainWord(argument) {
                    line += String(decoding: argument, as: UTF8.self)
                } else {
                    line += quoted(argument, full: full)
                }
                first = false
            }
        }
        if let replyHash = entry.replyHash { line += "  reply=" + hex64(replyHash) }
        return line
    }

    public static func jsonLine(_ entry: EntryView) -> String {
        var object = JSONObject()
        object.add("seq", entry.sequence)
        object.add("time_ms", entry.timestampMilliseconds)
        object.add("time", isoTime(milliseconds: entry.timestampMilliseconds))
        object.add("db", entry.db)
        object.add("kind", entry.kind.description)
        var allValid = true
        let strings = entry.arguments.map { argument -> String in
            if let text = String(validating: argument, as: UTF8.self) { return text }
            allValid = false
            return escapingInvalidUTF8(argument)
        }
        object.add("args", strings: strings)
        if !allValid { object.add("args_base64", strings: entry.arguments.map { base64(Array($0)) }) }
        if let replyHash = entry.replyHash { object.add("reply_hash", hex64(replyHash)) }
        return object.text
    }

    /// redis-cli quoting, shortened to `"abc…" (+12 KiB)` past ``shortenedArgumentByteCount``.
    static func quoted(_ argument: UnsafeRawBufferPointer, full: Bool) -> String {
        if full || argument.count <= shortenedArgumentByteCount { return ByteQuoting.quoted(argument) }
        let kept = shortenedArgumentByteCount / 2
        var text = ByteQuoting.quoted(argument.prefix(kept))
        text.removeLast()
        return text + "…\" (+\(byteCountText(argument.count - kept)))"
    }

    static func isPlainWord(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 34 && $0 != 39 && $0 != 92 }
    }

    /// `1.2 KiB`, `3 MiB`: for shortened values.
    public static func byteCountText(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        if count < 1024 * 1024 { return "\(count / 1024) KiB" }
        return "\(count / (1024 * 1024)) MiB"
    }

    /// UTF-8 text as is; each byte outside valid UTF-8 as `\xHH`.
    static func escapingInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> String {
        var result = ""
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                result.unicodeScalars.append(Unicode.UTF8.decode(encoded))
                offset += encoded.count
            case .error(let length):
                for byte in bytes[offset..<(offset + length)] {
                    result += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
                }
                offset += length
            case .emptyInput:
                return result
            }
        }
    }

    /// `2026-11-26T10:15:03.120Z` for milliseconds since the Unix epoch (proleptic Gregorian, UTC).
    public static func isoTime(milliseconds: Int64) -> String {
        let days = floorDivide(milliseconds, 86_400_000)
        let inDay = milliseconds - days * 86_400_000
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(inDay / 3_600_000, 2)):\(pad(inDay / 60_000 % 60, 2)):\(pad(inDay / 1000 % 60, 2)).\(pad(inDay % 1000, 3))Z"
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    static func hex64(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], alphabet[Int(value & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            output += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], 61]
        }
        return String(decoding: output, as: UTF8.self)
    }
}
