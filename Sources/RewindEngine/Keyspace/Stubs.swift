import RewindRESP
extension Keyspace {
    func bitcountCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
    func bitfieldCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
    func bitfieldROCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
    func bitopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
    func bitposCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
    func commandCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
    func getbitCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
    func lcsCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
    func setbitCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue { .null }
}
