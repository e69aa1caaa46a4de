// The protocol state of one client connection, kept apart from I/O. See swift-nio
// Sources/NIOHTTP1/NIOTypedHTTPServerUpgraderStateMachine.swift for the pattern, and Redis 7.0
// src/server.c processCommand for the checks it makes before a command runs.

import RewindRESP

/// What a connection may do next, decided without a channel: the handler feeds it events and
/// carries out the actions it returns.
///
/// States, as Redis's `client` flags make them:
/// - ``State/authenticationPending``: `requirepass` is set and the client has not authenticated;
///   only AUTH, HELLO, QUIT and RESET run.
/// - ``State/normal``: every command runs.
/// - ``State/transaction``: between MULTI and EXEC/DISCARD; commands are queued by the engine.
/// - ``State/subscribed``: a RESP2 client with subscriptions may only (un)subscribe, PING, QUIT
///   and RESET.
/// - ``State/closing``: QUIT, a protocol error or CLIENT KILL; input is ignored, the replies
///   owed are sent, then the connection closes.
struct ConnectionStateMachine {
    enum State: Equatable {
        case authenticationPending
        case normal
        case transaction
        case subscribed
        case closing
    }

    /// What the handler does with a command.
    enum CommandAction: Equatable {
        /// Run it (as a server command or in the engine).
        case execute
        /// Do not run it; reply with this error.
        case reject(RESPValue)
        /// Input after the connection started closing: drop it.
        case ignore
    }

    /// What the handler does after a protocol error.
    enum ProtocolErrorAction: Equatable {
        /// Send these bytes after every reply owed, then close.
        case replyAndClose([UInt8])
        /// Close without a reply (query buffer overflow, as Redis does).
        case close
    }

    private(set) var state: State
    /// The protocol version HELLO chose.
    private(set) var protocolVersion: RESPVersion = .resp2
    /// Channels plus patterns subscribed.
    private(set) var subscriptionCount = 0
    private let requiresPassword: Bool

    init(requiresPassword: Bool) {
        self.requiresPassword = requiresPassword
        state = requiresPassword ? .authenticationPending : .normal
    }

    var isAuthenticated: Bool { state != .authenticationPending }
    var isClosing: Bool { state == .closing }

    // MARK: - Events

    /// A whole command arrived; `name` is its first argument, lower-cased.
    func commandReceived(_ name: String) -> CommandAction {
        switch state {
        case .closing:
            return .ignore
        case .authenticationPending:
            switch name {
            case "auth", "hello", "quit", "reset": return .execute
            default: return .reject(.error("NOAUTH Authentication required."))
            }
        case .subscribed:
            switch name {
            case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe",
                 "ping", "quit", "reset":
                return .execute
            default:
                return .reject(.error(
                    "ERR Can't execute '\(name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
            }
        case .normal, .transaction:
            return .execute
        }
    }

    /// AUTH or HELLO AUTH succeeded.
    mutating func authenticated() {
        if state == .authenticationPending { state = .normal }
    }

    /// HELLO switched the protocol.
    mutating func protocolChanged(to version: RESPVersion) {
        protocolVersion = version
        refreshSubscribedState()
    }

    /// The engine's transaction flag after a command ran.
    mutating func transactionStateChanged(isInTransaction: Bool) {
        switch state {
        case .normal where isInTransaction: state = .transaction
        case .transaction where !isInTransaction: state = .normal
        default: break
        }
    }

    /// SUBSCRIBE and friends changed the number of subscriptions.
    mutating func subscriptionsChanged(count: Int) {
        subscriptionCount = count
        refreshSubscribedState()
    }

    /// QUIT or CLIENT KILL: finish the replies owed, then close.
    mutating func closeRequested() {
        state = .closing
    }

    /// RESET: back to a fresh connection (Redis `resetCommand`), still authenticated only when
    /// no password is required.
    mutating func reset() {
        guard state != .closing else { return }
        protocolVersion = .resp2
        subscriptionCount = 0
        state = requiresPassword ? .authenticationPending : .normal
    }

    /// The decoder failed. Redis answers a malformed frame with its error and closes; it closes a
    /// client over its query buffer limit without a word.
    mutating func protocolErrorReceived(_ error: Error) -> ProtocolErrorAction {
        let wasClosing = state == .closing
        state = .closing
        if wasClosing { return .close }
        if let parseError = error as? RESPParseError, let reply = parseError.redisErrorReply {
            return .replyAndClose(reply)
        }
        return .close
    }

    private mutating func refreshSubscribedState() {
        switch state {
        case .normal where subscriptionCount > 0 && protocolVersion == .resp2:
            state = .subscribed
        case .subscribed where subscriptionCount == 0 || protocolVersion == .resp3:
            state = .normal
        default:
            break
        }
    }
}
