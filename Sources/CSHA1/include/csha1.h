// SHA-1 and the DEBUG DIGEST arithmetic for RewindEngine/Digest/ and Keyspace+Digest.swift. Not API.
#ifndef REWIND_CSHA1_H
#define REWIND_CSHA1_H
#include <stddef.h>
#include <stdint.h>

/// Runs the compression function over `count` 64-byte blocks; picks the fastest path this CPU
/// supports (the x86 SHA extensions when present).
void rewind_sha1_compress(uint32_t state[5], const uint8_t *blocks, size_t count);
/// The portable path, exposed so tests can check both paths on every machine.
void rewind_sha1_compress_portable(uint32_t state[5], const uint8_t *blocks, size_t count);
/// 1 when the SHA extensions path is really used on this CPU.
int rewind_sha1_hardware_available(void);
/// Compresses one block into each of `lanes` (1 to 4) independent states at once.
void rewind_sha1_compress_lanes(int lanes, uint32_t *const state[], const uint8_t *const block[]);
/// SHA-1 of a 20-byte message (a digest), given as five big-endian words, into each of `lanes`
/// (1 to 4) outputs at once. An output may be its own input.
void rewind_sha1_digest_lanes(int lanes, uint32_t *const output[], const uint32_t *const input[]);
/// SHA-1 of a whole message: `digest` gets the five words H0...H4.
void rewind_sha1_message(const uint8_t *data, size_t count, uint32_t digest[5]);

// MARK: - DEBUG DIGEST in batches (digest.c)
//
// A digest is kept as five words; word i holds digest bytes 4i...4i+3, big-endian, so XOR of
// words is XOR of bytes. Redis builds DEBUG DIGEST from two operations on a 20-byte digest d:
// xor(d, m): d ^= SHA1(m), and mix(d, m): d ^= SHA1(m), then d = SHA1(d) (redis src/debug.c).
// For one batch of keys, the caller lists every byte string to hash (messages), and tasks saying
// how their SHA-1s (leaves) combine; rewind_digest_batch hashes the leaves, then runs the tasks,
// four independent SHA-1s at a time.

/// A byte string to hash: `length` bytes at `offset` in the batch's bytes. A `length` of
/// REWIND_DIGEST_LEAF_GIVEN means the caller already put its SHA-1 in the leaf.
typedef struct {
    uint32_t offset;
    uint32_t length;
} rewind_digest_message;

#define REWIND_DIGEST_LEAF_GIVEN UINT32_MAX

/// The state of one key while its digest is built, kept across batches for a value split over
/// several: `chain` is mixDigest's running digest, `accumulator` the XOR of element digests.
typedef struct {
    uint32_t chain[5];
    uint32_t accumulator[5];
} rewind_digest_key;

/// What a task does with its leaves `first ..< first + count`, for the key at index `key`.
typedef enum {
    /// mix the leaves into the key's chain, in order (the key itself, a string, list elements).
    REWIND_DIGEST_TASK_CHAIN = 0,
    /// xor the leaves into the key's accumulator (set members).
    REWIND_DIGEST_TASK_XOR = 1,
    /// two leaves: accumulator ^= SHA1(mix(mix(0, a), b)) (a hash field and its value, a sorted-set
    /// member and its score's text).
    REWIND_DIGEST_TASK_PAIR = 2,
} rewind_digest_task_kind;

/// Flags of a CHAIN task.
enum {
    /// The chain starts here: its first leaf is the key's (d = mix(0, key)), then the object type
    /// (flags >> REWIND_DIGEST_TYPE_SHIFT) is mixed in, then the other leaves.
    REWIND_DIGEST_STARTS = 1,
    /// The key ends here: d ^= accumulator, d ^= SHA1("!!expire!!") when EXPIRES is set, and
    /// SHA1(d) is XORed into the dataset digest.
    REWIND_DIGEST_FINISHES = 2,
    REWIND_DIGEST_EXPIRES = 4,
};
#define REWIND_DIGEST_TYPE_SHIFT 8

typedef struct {
    uint32_t kind;
    uint32_t key;
    uint32_t first;
    uint32_t count;
    uint32_t flags;
} rewind_digest_task;

/// Hashes every message into `leaves` (5 words each, indexed as `messages`), then runs XOR tasks,
/// then PAIR tasks, then CHAIN tasks, updating `keys` and XORing finished keys into `dataset`.
void rewind_digest_batch(const uint8_t *bytes, const rewind_digest_message *messages, size_t message_count,
                         uint32_t *leaves, rewind_digest_key *keys, const rewind_digest_task *tasks,
                         size_t task_count, uint32_t dataset[5]);

/// mix(d, m) for a contiguous message: d ^= SHA1(m); d = SHA1(d).
void rewind_digest_mix(uint32_t digest[5], const uint8_t *data, size_t count);
/// SHA1 of a digest's own 20 bytes.
void rewind_digest_rehash(const uint32_t digest[5], uint32_t result[5]);
#endif
