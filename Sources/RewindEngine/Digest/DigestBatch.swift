// The dataset digest of DEBUG DIGEST (redis 7.0 src/debug.c) computed in batches of keys by
// CSHA1's digest.c, which runs four independent SHA-1s at a time. See csha1.h for the layout.

import CFormat
import CSHA1

/// Collects the byte strings of many keys, and how their SHA-1s combine, then hands them to C.
///
/// A value's digest is a chain of SHA-1s that each depend on the previous one, so hashing one
/// key at a time keeps the CPU's SHA unit waiting on one chain. A batch holds the work of
/// hundreds of keys; `rewind_digest_batch` first hashes every byte string (a *message*), then runs
/// each key's chain, four chains side by side. The result is bit-identical to
/// ``DigestMixer`` and ``DatasetDigestBuilder``, which do the same one SHA-1 at a time.
///
/// Use: ``beginDatabase(_:)`` for each non-empty database in order; for each key, check
/// ``hasRoom(messages:bytes:)`` (or flush with ``flush(carrying:)`` when a big value does not fit),
/// ``newKey(carrying:)``, ``add(_:)`` its messages and describe how they combine with
/// ``chain(key:first:flags:)``, ``xor(key:first:)`` and ``pair(key:first:)``; finally ``flush()``
/// and read ``digest``.
///
/// Messages up to ``copiedByteCountMax`` bytes are copied into the batch; longer ones are hashed
/// at once from the caller's storage, so a batch never holds more than about
/// ``byteCountMax`` bytes whatever the value sizes.
final class DigestBatch {
    /// Messages (and so leaves, keys and tasks) a batch holds before it must be flushed.
    static let messageCountMax = 16_384
    /// Bytes of copied messages a batch holds before it must be flushed.
    static let byteCountMax = 1 << 18
    /// Longer messages are hashed when added, from the caller's buffer, instead of copied.
    static let copiedByteCountMax = 512
    /// Room left at the end of the byte buffer for a formatted number (`%.17g` needs at most 24).
    static let numberByteCountMax = 64

    private let bytes: UnsafeMutableRawPointer
    private var byteCount = 0
    private let messages: UnsafeMutablePointer<rewind_digest_message>
    private(set) var messageCount = 0
    /// Five words per message: its SHA-1, written by C (or by ``add(_:)`` for a long message).
    private let leaves: UnsafeMutablePointer<UInt32>
    private let keys: UnsafeMutablePointer<rewind_digest_key>
    private var keyCount = 0
    private let tasks: UnsafeMutablePointer<rewind_digest_task>
    private var taskCount = 0
    /// The dataset digest so far.
    private var dataset: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0)

    init() {
        bytes = .allocate(byteCount: Self.byteCountMax + Self.copiedByteCountMax + Self.numberByteCountMax, alignment: 16)
        messages = .allocate(capacity: Self.messageCountMax)
        leaves = .allocate(capacity: 5 * Self.messageCountMax)
        keys = .allocate(capacity: Self.messageCountMax + 1)
        tasks = .allocate(capacity: Self.messageCountMax + 1)
    }

    deinit {
        bytes.deallocate()
        messages.deallocate()
        leaves.deallocate()
        keys.deallocate()
        tasks.deallocate()
    }

    /// The bytes a message of `length` bytes takes in the batch.
    static func copiedByteCount(_ length: Int) -> Int { length <= copiedByteCountMax ? length : 0 }

    /// Whether `count` more messages, with `byteCount` copied bytes in all (see
    /// ``copiedByteCount(_:)``; up to ``numberByteCountMax`` for a number), a new key and their
    /// tasks fit in this batch.
    func hasRoom(messages count: Int, bytes copied: Int) -> Bool {
        messageCount + count <= Self.messageCountMax && byteCount + copied <= Self.byteCountMax
            && keyCount < Self.messageCountMax && taskCount + count <= Self.messageCountMax
    }

    /// Starts a key's state: all zero, or the state a key had before ``flush(carrying:)``.
    func newKey(carrying state: rewind_digest_key? = nil) -> UInt32 {
        precondition(keyCount <= Self.messageCountMax, "digest batch: too many keys")
        keys[keyCount] = state ?? rewind_digest_key()
        keyCount += 1
        return UInt32(keyCount - 1)
    }

    /// Adds a message; returns its index.
    @discardableResult
    func add(_ message: UnsafeRawBufferPointer) -> UInt32 {
        precondition(messageCount < Self.messageCountMax, "digest batch: too many messages")
        let index = messageCount
        messageCount += 1
        if message.count <= Self.copiedByteCountMax {
            precondition(byteCount + message.count <= Self.byteCountMax + Self.copiedByteCountMax, "digest batch: too many bytes")
            if let base = message.baseAddress, message.count > 0 {
                (bytes + byteCount).copyMemory(from: base, byteCount: message.count)
            }
            messages[index] = rewind_digest_message(offset: UInt32(byteCount), length: UInt32(message.count))
            byteCount += message.count
        } else {
            rewind_sha1_message(message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count, leaves + 5 * index)
            messages[index] = rewind_digest_message(offset: 0, length: REWIND_DIGEST_LEAF_GIVEN)
        }
        return UInt32(index)
    }

    /// Adds a message; returns its index.
    @discardableResult
    func add(_ message: [UInt8]) -> UInt32 {
        message.withUnsafeBytes { add($0) }
    }

    /// Adds an integer's decimal text, as Redis digests an integer-encoded string.
    @discardableResult
    func addDecimal(_ value: Int64) -> UInt32 {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for "-9223372036854775808"
        return withUnsafeMutableBytes(of: &digits) { buffer in
            var magnitude = value.magnitude
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            return add(UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// Adds a sorted-set score as `%.17g` text, as Redis 7.0 digests it.
    @discardableResult
    func addScore(_ score: Double) -> UInt32 {
        precondition(messageCount < Self.messageCountMax && byteCount <= Self.byteCountMax + Self.copiedByteCountMax)
        let written = Int(rewind_format_double_17g(score, (bytes + byteCount).assumingMemoryBound(to: CChar.self), Self.numberByteCountMax))
        let length = max(0, min(written, Self.numberByteCountMax - 1))
        let index = messageCount
        messageCount += 1
        messages[index] = rewind_digest_message(offset: UInt32(byteCount), length: UInt32(length))
        byteCount += length
        return UInt32(index)
    }

    private func addTask(_ kind: rewind_digest_task_kind, key: UInt32, first: UInt32, count: Int, flags: UInt32) {
        precondition(taskCount <= Self.messageCountMax, "digest batch: too many tasks")
        tasks[taskCount] = rewind_digest_task(kind: kind.rawValue, key: key, first: first, count: UInt32(count), flags: flags)
        taskCount += 1
    }

    /// Mixes messages `first ..< messageCount` into the key's chain, in order. With
    /// `REWIND_DIGEST_STARTS`, the first of them is the key name and the object type follows it.
    func chain(key: UInt32, first: UInt32, flags: UInt32) {
        addTask(REWIND_DIGEST_TASK_CHAIN, key: key, first: first, count: messageCount - Int(first), flags: flags)
    }

    /// XORs the SHA-1s of messages `first ..< messageCount` into the key's accumulator (set members).
    func xor(key: UInt32, first: UInt32) {
        guard messageCount > Int(first) else { return }
        addTask(REWIND_DIGEST_TASK_XOR, key: key, first: first, count: messageCount - Int(first), flags: 0)
    }

    /// XORs SHA1(mix(mix(0, a), b)) of messages `first` and `first + 1` into the key's accumulator.
    func pair(key: UInt32, first: UInt32) {
        addTask(REWIND_DIGEST_TASK_PAIR, key: key, first: first, count: 2, flags: 0)
    }

    /// Computes everything added so far and empties the batch.
    func flush() {
        if messageCount > 0 || taskCount > 0 {
            withUnsafeMutableBytes(of: &dataset) { dataset in
                rewind_digest_batch(bytes.assumingMemoryBound(to: UInt8.self), messages, messageCount, leaves, keys, tasks, taskCount,
                                    dataset.baseAddress!.assumingMemoryBound(to: UInt32.self))
            }
        }
        byteCount = 0
        messageCount = 0
        keyCount = 0
        taskCount = 0
    }

    /// Flushes, keeping the state of one key whose value goes on in the next batch; returns the
    /// key's index there.
    func flush(carrying key: UInt32) -> UInt32 {
        flush()
        return newKey(carrying: keys[Int(key)])
    }

    /// Flushes, then mixes a database index in, as Redis does before the keys of each non-empty
    /// database (in increasing order).
    func beginDatabase(_ dbIndex: Int) {
        flush()
        var index = UInt32(truncatingIfNeeded: dbIndex).bigEndian
        withUnsafeMutableBytes(of: &dataset) { dataset in
            withUnsafeBytes(of: &index) { index in
                rewind_digest_mix(dataset.baseAddress!.assumingMemoryBound(to: UInt32.self),
                                  index.baseAddress!.assumingMemoryBound(to: UInt8.self), 4)
            }
        }
    }

    /// The dataset digest of everything flushed so far.
    var digest: RedisDigest {
        RedisDigest(words: SHA1.Words(h0: dataset.0, h1: dataset.1, h2: dataset.2, h3: dataset.3, h4: dataset.4))
    }
}
