import RewindRESP
import Testing
@testable import RewindServer

@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    @Test("Without a password every command runs")
    func openServer() {
        let machine = ConnectionStateMachine(requiresPassword: false)
        #expect(machine.state == .normal)
        #expect(machine.commandReceived("get") == .execute)
        #expect(machine.commandReceived("auth") == .execute)
    }

    @Test("With a password only AUTH, HELLO, QUIT and RESET run before authentication", arguments: [
        ("get", false), ("set", false), ("ping", false), ("auth", true), ("hello", true), ("quit", true), ("reset", true),
    ])
    func authenticationPending(name: String, runs: Bool) {
        var machine = ConnectionStateMachine(requiresPassword: true)
        #expect(machine.state == .authenticationPending)
        #expect(machine.commandReceived(name) == (runs ? .execute : .reject(.error("NOAUTH Authentication required."))))
        machine.authenticated()
        #expect(machine.state == .normal)
        #expect(machine.commandReceived(name) == .execute)
    }

    @Test("MULTI and EXEC move between normal and transaction")
    func transaction() {
        var machine = ConnectionStateMachine(requiresPassword: false)
        machine.transactionStateChanged(isInTransaction: true)
        #expect(machine.state == .transaction)
        #expect(machine.commandReceived("set") == .execute)
        machine.transactionStateChanged(isInTransaction: false)
        #expect(machine.state == .normal)
    }

    @Test("A RESP2 subscriber may only (un)subscribe, PING, QUIT and RESET")
    func subscribedResp2() {
        var machine = ConnectionStateMachine(requiresPassword: false)
        machine.subscriptionsChanged(count: 1)
        #expect(machine.state == .subscribed)
        #expect(machine.commandReceived("ping") == .execute)
        #expect(machine.commandReceived("unsubscribe") == .execute)
        #expect(machine.commandReceived("get") == .reject(.error(
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")))
        machine.subscriptionsChanged(count: 0)
        #expect(machine.state == .normal)
    }

    @Test("A RESP3 subscriber may run any command")
    func subscribedResp3() {
        var machine = ConnectionStateMachine(requiresPassword: false)
        machine.protocolChanged(to: .resp3)
        machine.subscriptionsChanged(count: 2)
        #expect(machine.state == .normal)
        #expect(machine.commandReceived("get") == .execute)
        machine.protocolChanged(to: .resp2)
        #expect(machine.state == .subscribed)
    }

    @Test("After QUIT, input is ignored")
    func closing() {
        var machine = ConnectionStateMachine(requiresPassword: false)
        machine.closeRequested()
        #expect(machine.isClosing)
        #expect(machine.commandReceived("get") == .ignore)
        machine.reset()
        #expect(machine.isClosing)
    }

    @Test("A malformed frame gets Redis's error, then the close; a buffer overflow only the close")
    func protocolErrors() {
        var machine = ConnectionStateMachine(requiresPassword: false)
        let error = RESPParseError(code: .invalidBulkLength, byteOffset: 4,
                                   redisMessage: Array("Protocol error: invalid bulk length".utf8))
        #expect(machine.protocolErrorReceived(error) == .replyAndClose(Array("-ERR Protocol error: invalid bulk length\r\n".utf8)))
        #expect(machine.isClosing)
        var other = ConnectionStateMachine(requiresPassword: false)
        #expect(other.protocolErrorReceived(QueryBufferLimitExceeded(bufferedByteCount: 10)) == .close)
    }

    @Test("RESET returns to a fresh connection and asks for AUTH again")
    func reset() {
        var machine = ConnectionStateMachine(requiresPassword: true)
        machine.authenticated()
        machine.protocolChanged(to: .resp3)
        machine.subscriptionsChanged(count: 1)
        machine.reset()
        #expect(machine.state == .authenticationPending)
        #expect(machine.protocolVersion == .resp2)
        #expect(machine.subscriptionCount == 0)
    }
}
