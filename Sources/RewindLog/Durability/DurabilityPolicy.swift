/// When an appended entry reaches the disk. See docs/FORMAT.md, "Durability".
///
/// | policy | `append` returns | a process crash loses | an OS crash or power loss loses |
/// | --- | --- | --- | --- |
/// | `always` | after the record holding the entry is fdatasync'ed | nothing acknowledged | nothing acknowledged |
/// | `everysec` | once the entry is queued | at most `flushInterval` of entries | about the last second |
/// | `no` | once the entry is queued | at most `flushInterval` of entries | whatever the OS had not written |
///
/// Under `everysec` and `no`, `LogWriter.waitUntilWritten(_:)` gives Redis's own promise for
/// those policies (the write is in the kernel before the client hears back) to callers that want it.
public enum DurabilityPolicy: String, Sendable, CaseIterable, CustomStringConvertible {
    case always
    case everysec
    case no

    public var description: String { rawValue }
}
