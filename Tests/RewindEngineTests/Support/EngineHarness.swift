// A keyspace with one session and a settable clock, for focused command tests.

import RewindEngine
import RewindRESP

/// Runs commands written as space-separated words against a fresh keyspace.
struct EngineHarness {
    let keyspace = Keyspace(randomSeed: 42)
    var session = ClientSession()
    var nowMilliseconds: Int64 = 1_700_000_000_000
    /// Every entry logged so far.
    var log: [LoggedEntry] = []

    /// Runs `line` (words split on spaces) and returns the reply in its RESP2 shape.
    @discardableResult
    mutating func run(_ line: String) -> RESPValue {
        run(line.split(separator: " ", omittingEmptySubsequences: true).map { Array($0.utf8) })
    }

    @discardableResult
    mutating func run(_ arguments: [[UInt8]]) -> RESPValue {
        let result = keyspace.execute(arguments, session: &session, nowMilliseconds: nowMilliseconds)
        log += result.propagated
        return result.reply.asRESP2
    }

    /// The commands of the last `count` logged entries, rendered as space-separated text.
    func loggedLines(last count: Int = 1) -> [String] {
        log.suffix(count).flatMap(\.commands).map { command in
            command.arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        }
    }
}

func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }
func bulks(_ texts: String...) -> RESPValue { .array(texts.map(bulk)) }
