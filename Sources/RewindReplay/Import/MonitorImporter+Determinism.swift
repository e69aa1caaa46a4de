extension MonitorImporter {
    /// Rewrites a command with a relative expiry into the absolute form Redis propagates, using
    /// the time MONITOR printed for it (DESIGN §4: an entry is the command as it must be replayed).
    ///
    /// | sent | logged | Redis behaviour matched |
    /// | --- | --- | --- |
    /// | `EXPIRE k s [NX\|XX\|GT\|LT]`, `PEXPIRE k ms …`, `EXPIREAT k s …` | `PEXPIREAT k <abs ms> …` | `expire.c` propagates PEXPIREAT |
    /// | `SETEX k s v`, `PSETEX k ms v` | `SET k v PXAT <abs ms>` | `t_string.c` propagates SET … PXAT |
    /// | `SET k v … EX s` / `PX ms` / `EXAT s` | `SET k v … PXAT <abs ms>` | same |
    /// | `GETEX k EX s` / `PX` / `EXAT` / `PXAT` | `PEXPIREAT k <abs ms>` | `t_string.c` getexCommand |
    /// | `GETEX k PERSIST` | `PERSIST k` | same |
    ///
    /// MONITOR's time is taken when the command is shown, a few microseconds after Redis read its
    /// own clock, so an absolute time can differ from Redis's by a millisecond. A command whose
    /// numbers do not parse is left as sent (Redis refused it). A plain `GETEX k` changes nothing
    /// and returns nil, as do other commands that Redis does not propagate.
    static func deterministic(_ arguments: [[UInt8]], at milliseconds: Int64) -> [[UInt8]]? {
        guard let first = arguments.first else { return arguments }
        let name = String(decoding: first, as: UTF8.self).lowercased()
        func number(_ bytes: [UInt8]) -> Int64? { Int64(String(decoding: bytes, as: UTF8.self)) }
        func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
        func absolute(_ value: Int64, unit: Int64, relative: Bool) -> [UInt8]? {
            let (scaled, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            let (sum, overflow2) = scaled.addingReportingOverflow(relative ? milliseconds : 0)
            return overflow2 ? nil : bytes(String(sum))
        }
        switch name {
        case "expire", "pexpire", "expireat":
            guard arguments.count >= 3, let value = number(arguments[2]),
                let at = absolute(value, unit: name == "pexpire" ? 1 : 1000, relative: name != "expireat")
            else { return arguments }
            return [bytes("PEXPIREAT"), arguments[1], at] + arguments.dropFirst(3)
        case "setex", "psetex":
            guard arguments.count == 4, let value = number(arguments[2]),
                let at = absolute(value, unit: name == "setex" ? 1000 : 1, relative: true)
            else { return arguments }
            return [bytes("SET"), arguments[1], arguments[3], bytes("PXAT"), at]
        case "set":
            guard arguments.count >= 5 else { return arguments }
            var result = Array(arguments.prefix(3))
            var index = 3
            while index < arguments.count {
                let option = String(decoding: arguments[index], as: UTF8.self).lowercased()
                if ["ex", "px", "exat"].contains(option), index + 1 < arguments.count, let value = number(arguments[index + 1]),
                    let at = absolute(value, unit: option == "px" ? 1 : 1000, relative: option != "exat")
                {
                    result += [bytes("PXAT"), at]
                    index += 2
                } else {
                    result.append(arguments[index])
                    index += 1
                }
            }
            return result
        case "getex":
            guard arguments.count >= 2 else { return arguments }
            if arguments.count == 2 { return nil }
            let option = String(decoding: arguments[2], as: UTF8.self).lowercased()
            if option == "persist" && arguments.count == 3 { return [bytes("PERSIST"), arguments[1]] }
            guard arguments.count == 4, ["ex", "px", "exat", "pxat"].contains(option), let value = number(arguments[3]),
                let at = absolute(value, unit: option == "px" || option == "pxat" ? 1 : 1000, relative: option == "ex" || option == "px")
            else { return arguments }
            return [bytes("PEXPIREAT"), arguments[1], at]
        default:
            return arguments
        }
    }
}
