// The RESP2 form of a reply produced for a RESP3 client. See redis src/t_zset.c and t_hash.c
// (`c->resp > 2` branches of zrangeResultEmitCBufferForZset, genericZpopCommand,
// zrandmemberWithCountCommand, hrandfieldWithCountCommand).

import RewindRESP

extension Keyspace {
    /// Commands whose RESP3 reply nests member/score or field/value pairs where RESP2 is flat.
    private static let pairedInRESP3: Set<String> = [
        "zrange", "zrangebyscore", "zrevrangebyscore", "zrevrange", "zrangebylex", "zrevrangebylex",
        "zunion", "zinter", "zdiff", "zpopmin", "zpopmax", "zrandmember", "hrandfield",
    ]

    /// `reply` as a RESP2 client would have received it: for a command whose RESP3 reply is an
    /// array of pairs, the pairs flattened; any other reply unchanged. Maps, sets and doubles
    /// need nothing here: every encoder already writes them the RESP2 way for RESP2.
    ///
    /// The server hashes replies this way (FORMAT.md, reply hashes), so a recorded hash does not
    /// depend on the protocol of the client that got it.
    public static func resp2Shaped(_ reply: RESPValue, command: [UInt8]) -> RESPValue {
        guard case .array(let elements) = reply, !elements.isEmpty,
              let spec = CommandTable.spec(forName: command), pairedInRESP3.contains(spec.name),
              elements.allSatisfy({ if case .array(let pair) = $0 { return pair.count == 2 } else { return false } })
        else { return reply }
        return .array(elements.flatMap { element -> [RESPValue] in
            if case .array(let pair) = element { return pair }
            return [element]
        })
    }
}
