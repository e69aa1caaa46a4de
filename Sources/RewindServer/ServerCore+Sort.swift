// SORT and SORT_RO, as Redis 7.0 answers them (redis src/sort.c: sortCommandGeneric,
// lookupKeyByPattern, sortCompare), built on the engine's public commands: the reads go through
// `Keyspace.execute`, and a STORE is logged as its effect, DEL of the destination and RPUSH of
// the result in one transaction, so replay never depends on how a set happens to iterate.

import RewindEngine
import RewindRESP

private struct SortRequest {
    var byPattern: [UInt8]?
    var skipsSorting = false
    var limitOffset = 0
    var limitCount = -1
    var getPatterns: [[UInt8]] = []
    var descending = false
    var alphabetic = false
    var storeKey: [UInt8]?
}

private struct SortItem {
    var element: [UInt8]
    var score: Double = 0
    var compareBytes: [UInt8]?
}

extension ServerCore {
    func sortCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler, now: Int64, readOnly: Bool) {
        var request: SortRequest
        switch Self.parseSort(arguments, readOnly: readOnly) {
        case .failure(let error):
            reply(connection, .error(error.text))
            return
        case .success(let parsed):
            request = parsed
        }
        if request.storeKey != nil && (isReadOnly || logFailure != nil) {
            reply(connection, .error(isReadOnly ? Self.readOnlyError : misconfError))
            return
        }
        let key = arguments[1]
        guard case .simpleString(let type) = internalCommand(["TYPE", key], connection, now: now) else { return }
        var elements: [[UInt8]]
        switch type {
        case "none": elements = []
        case "list": elements = strings(internalCommand(["LRANGE", key, "0", "-1"], connection, now: now))
        case "set":
            elements = strings(internalCommand(["SMEMBERS", key], connection, now: now))
            // Redis sorts a set given BY nosort when it stores the result, so the stored list
            // does not depend on the set's iteration order.
            if request.skipsSorting && request.storeKey != nil {
                request.skipsSorting = false
                request.alphabetic = true
                request.byPattern = nil
            }
        case "zset":
            elements = strings(internalCommand(["ZRANGE", key, "0", "-1"], connection, now: now))
            // Unsorted, a sorted set keeps its own order; DESC walks it from the end.
            if request.skipsSorting && request.descending { elements.reverse() }
        default:
            reply(connection, .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
            return
        }

        var items = elements.map { SortItem(element: $0) }
        if !request.skipsSorting {
            for index in items.indices {
                let weight: [UInt8]?
                if let pattern = request.byPattern {
                    weight = lookup(pattern, substituting: items[index].element, connection, now: now)
                } else {
                    weight = items[index].element
                }
                guard let weight else { continue }
                if request.alphabetic {
                    if request.byPattern != nil { items[index].compareBytes = weight }
                } else {
                    guard let score = Self.sortScore(weight) else {
                        reply(connection, .error("ERR One or more scores can't be converted into double"))
                        return
                    }
                    items[index].score = score
                }
            }
            let alphabetic = request.alphabetic, byPattern = request.byPattern != nil, descending = request.descending
            items.sort { first, second in
                let order = Self.sortOrder(first, second, alphabetic: alphabetic, byPattern: byPattern)
                return descending ? order > 0 : order < 0
            }
        }

        // LIMIT, clamped as Redis clamps it.
        let count = items.count
        var start = max(0, request.limitOffset)
        // A client's offset and count may be near Int.max: saturate instead of trapping.
        var end = request.limitCount < 0 ? count - 1 : start.addingReportingOverflow(request.limitCount - 1).overflow
            ? Int.max : start + (request.limitCount - 1)
        if start >= count {
            start = count - 1
            end = count - 2
        }
        if end >= count { end = count - 1 }
        let chosen = start <= end && start >= 0 ? Array(items[start...end]) : []

        var output: [[UInt8]?] = []
        for item in chosen {
            if request.getPatterns.isEmpty {
                output.append(item.element)
            } else {
                for pattern in request.getPatterns {
                    output.append(lookup(pattern, substituting: item.element, connection, now: now))
                }
            }
        }
        guard let storeKey = request.storeKey else {
            reply(connection, .array(output.map { $0.map { .bulkString($0) } ?? .null }))
            return
        }
        store(output.map { $0 ?? [] }, at: storeKey, connection, now: now)
    }

    /// Replaces `key` by a list of `values` (or deletes it when `values` is empty), logged as one
    /// transaction (inside EXEC, as part of EXEC's); replies with the number of values stored once
    /// the entries are acknowledged.
    private func store(_ values: [[UInt8]], at key: [UInt8], _ connection: ConnectionHandler, now: Int64) {
        var session = ClientSession(databaseIndex: 0)
        if connection.session.databaseIndex != 0 {
            _ = keyspace.execute([Array("SELECT".utf8), Array(String(connection.session.databaseIndex).utf8)],
                                 session: &session, nowMilliseconds: now)
        }
        var propagated: [LoggedCommand] = []
        propagated += keyspace.execute([Array("DEL".utf8), key], session: &session, nowMilliseconds: now).propagated.flatMap(\.commands)
        if !values.isEmpty {
            propagated += keyspace.execute([Array("RPUSH".utf8), key] + values, session: &session, nowMilliseconds: now)
                .propagated.flatMap(\.commands)
        }
        if connection.capturedPropagation != nil {
            // Inside EXEC: the writes join the transaction's record, logged when EXEC finishes.
            connection.capturedPropagation! += propagated
            connection.send(.integer(Int64(values.count)), after: 0)
            return
        }
        var sequence: UInt64 = 0
        if !propagated.isEmpty {
            let entries: [LoggedEntry] = propagated.count == 1 ? [.command(propagated[0])] : [.transaction(propagated)]
            sequence = log(entries, at: now)
            serveBlockedClients(touchedBy: entries, now: now)
        }
        connection.send(.integer(Int64(values.count)), after: sequence)
    }

    /// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is
    /// replaced by the element, and `key->field` reads a hash field. A pattern without `*`, a
    /// missing key or a key of another type gives nil.
    private func lookup(_ pattern: [UInt8], substituting element: [UInt8], _ connection: ConnectionHandler, now: Int64) -> [UInt8]? {
        if pattern == [UInt8(ascii: "#")] { return element }
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var keyEnd = pattern.count
        var field: [UInt8]?
        var index = star + 1
        while index + 1 < pattern.count {
            if pattern[index] == UInt8(ascii: "-") && pattern[index + 1] == UInt8(ascii: ">") && index + 2 < pattern.count {
                keyEnd = index
                field = Array(pattern[(index + 2)...])
                break
            }
            index += 1
        }
        let name = Array(pattern[..<star]) + element + Array(pattern[(star + 1)..<keyEnd])
        let value = field.map { internalCommand(["HGET", name, $0], connection, now: now) }
            ?? internalCommand(["GET", name], connection, now: now)
        if case .bulkString(let bytes) = value { return bytes }
        return nil
    }

    private func strings(_ value: RESPValue) -> [[UInt8]] {
        switch value {
        case .array(let values), .set(let values):
            return values.compactMap { if case .bulkString(let bytes) = $0 { return bytes } else { return nil } }
        default:
            return []
        }
    }

    /// Redis's `sortCompare`: numeric by score, ties broken by the element's bytes; alphabetic
    /// by the BY value (a missing one first) or by the element. Bytes compare as memcmp.
    private static func sortOrder(_ first: SortItem, _ second: SortItem, alphabetic: Bool, byPattern: Bool) -> Int {
        if !alphabetic {
            if first.score > second.score { return 1 }
            if first.score < second.score { return -1 }
            return compareBytes(first.element, second.element)
        }
        guard byPattern else { return compareBytes(first.element, second.element) }
        switch (first.compareBytes, second.compareBytes) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case (let a?, let b?): return compareBytes(a, b)
        }
    }

    private static func compareBytes(_ first: [UInt8], _ second: [UInt8]) -> Int {
        for (a, b) in zip(first, second) where a != b { return a < b ? -1 : 1 }
        return first.count == second.count ? 0 : (first.count < second.count ? -1 : 1)
    }

    /// A weight as `strtod` reads it: the whole string (leading spaces allowed, empty is 0), not NaN.
    static func sortScore(_ bytes: [UInt8]) -> Double? {
        let text = String(decoding: bytes.drop { $0 == 32 || ($0 >= 9 && $0 <= 13) }, as: UTF8.self)
        if text.isEmpty { return 0 }
        guard let value = Double(text), !value.isNaN else { return nil }
        return value
    }

    private struct SortError: Error { var text: String }

    private static func parseSort(_ arguments: [[UInt8]], readOnly: Bool) -> Result<SortRequest, SortError> {
        var request = SortRequest()
        var index = 2
        while index < arguments.count {
            let option = Clock.lowercased(arguments[index])
            let remaining = arguments.count - index - 1
            switch option {
            case "asc": request.descending = false
            case "desc": request.descending = true
            case "alpha": request.alphabetic = true
            case "limit" where remaining >= 2:
                guard let offset = Int(String(decoding: arguments[index + 1], as: UTF8.self)),
                      let count = Int(String(decoding: arguments[index + 2], as: UTF8.self)) else {
                    return .failure(SortError(text: "ERR value is not an integer or out of range"))
                }
                request.limitOffset = offset
                request.limitCount = count
                index += 2
            case "store" where remaining >= 1 && !readOnly:
                request.storeKey = arguments[index + 1]
                index += 1
            case "by" where remaining >= 1:
                request.byPattern = arguments[index + 1]
                // A BY pattern without `*` means: do not sort.
                if !arguments[index + 1].contains(UInt8(ascii: "*")) { request.skipsSorting = true }
                index += 1
            case "get" where remaining >= 1:
                request.getPatterns.append(arguments[index + 1])
                index += 1
            default:
                return .failure(SortError(text: "ERR syntax error"))
            }
            index += 1
        }
        return .success(request)
    }
}
