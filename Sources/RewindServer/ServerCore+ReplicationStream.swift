// SYNC: Redis's replication stream, fed from what the server logs. See redis src/replication.c
// (syncCommand, replicationFeedSlaves). Rewind has no replicas; the stream exists because the
// propagated form of a write is exactly what Rewind logs, and Redis's own test suite reads it
// (attach_to_replication_stream) to check what a write propagates.

import RewindEngine
import RewindRESP

extension ServerCore {
    /// SYNC: an empty snapshot (a zero-length payload: the client's state is whatever it had),
    /// then every entry logged from now on, as commands, with SELECT when the database changes
    /// and a transaction of several commands wrapped in MULTI/EXEC.
    func syncCommand(_ connection: ConnectionHandler) {
        guard !isReadOnly else {
            reply(connection, .error("ERR Rewind serves a replayed state read-only; it has no replication stream"))
            return
        }
        // Redis sends the RDB as `$<length>\r\n<bytes>` with no trailing CRLF.
        connection.sendRaw(Array("$0\r\n".utf8))
        connection.replicaDatabaseIndex = nil
        replicaStreams[connection.id] = connection
    }

    /// Sends `entries` to every connection that sent SYNC.
    func feedReplicaStreams(_ entries: [LoggedEntry]) {
        for connection in replicaStreams.values {
            var bytes: [UInt8] = []
            for entry in entries {
                switch entry {
                case .command(let command):
                    append(command, to: &bytes, for: connection)
                case .transaction(let commands) where commands.count == 1 || replicaFeedSplitsTransactions:
                    // Redis 7.0 wraps only what propagates more than one command, and never a
                    // read's lazy-expiry DELs.
                    for command in commands { append(command, to: &bytes, for: connection) }
                case .transaction(let commands):
                    if let first = commands.first { selectIfNeeded(first.db, into: &bytes, for: connection) }
                    RESPEncoder.encodeCommand([Array("MULTI".utf8)], into: &bytes)
                    for command in commands { append(command, to: &bytes, for: connection) }
                    RESPEncoder.encodeCommand([Array("EXEC".utf8)], into: &bytes)
                }
            }
            connection.sendRaw(bytes)
        }
    }

    private func append(_ command: LoggedCommand, to bytes: inout [UInt8], for connection: ConnectionHandler) {
        selectIfNeeded(command.db, into: &bytes, for: connection)
        RESPEncoder.encodeCommand(command.arguments, into: &bytes)
    }

    private func selectIfNeeded(_ db: Int, into bytes: inout [UInt8], for connection: ConnectionHandler) {
        guard connection.replicaDatabaseIndex != db else { return }
        RESPEncoder.encodeCommand([Array("SELECT".utf8), Array(String(db).utf8)], into: &bytes)
        connection.replicaDatabaseIndex = db
    }
}
