// DEBUG DIGEST (redis 7.0 src/debug.c: xorDigest, mixDigest, xorObjectDigest) for a batch of
// keys, four independent SHA-1s at a time. The batch's layout is described in csha1.h; the caller
// (RewindEngine/Keyspace/Keyspace+Digest.swift) fills it from the keyspace's storage.
//
// A digest is a dependency chain of SHA-1s of 20-byte values (mixDigest hashes the digest itself
// after every element), and one SHA-1 block is a chain of 80 dependent rounds, so hashing one
// thing at a time leaves the CPU's SHA unit mostly idle. Here every message is hashed first (all
// independent), then each task runs as a small program whose every step is one SHA-1 of a
// 20-byte value; four tasks run side by side, one block of each per call to
// rewind_sha1_compress_lanes.
#include "csha1.h"

#include <string.h>

static const uint32_t sha1_initial[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};

static inline void copy5(uint32_t *to, const uint32_t *from) {
    for (int i = 0; i < 5; i++) to[i] = from[i];
}

static inline void xor5(uint32_t *into, const uint32_t *other) {
    for (int i = 0; i < 5; i++) into[i] ^= other[i];
}

static inline void xor5_of(uint32_t *to, const uint32_t *a, const uint32_t *b) {
    for (int i = 0; i < 5; i++) to[i] = a[i] ^ b[i];
}

void rewind_digest_rehash(const uint32_t digest[5], uint32_t result[5]) {
    const uint32_t *inputs[1] = {digest};
    uint32_t *outputs[1] = {result};
    rewind_sha1_digest_lanes(1, outputs, inputs);
}

void rewind_digest_mix(uint32_t digest[5], const uint8_t *data, size_t count) {
    uint32_t hashed[5];
    rewind_sha1_message(data, count, hashed);
    xor5(digest, hashed);
    rewind_digest_rehash(digest, digest);
}

// MARK: - Leaves: the SHA-1 of every message

/// One message being hashed in a lane: its whole blocks are read in place, the padded tail
/// (one or two blocks) from `tail`.
typedef struct {
    uint32_t state[5];
    const uint8_t *next;
    size_t full_blocks;
    uint32_t tail_blocks;
    uint32_t tail_index;
    size_t message;
    uint8_t tail[128];
} leaf_lane;

static void leaf_lane_load(leaf_lane *lane, const uint8_t *data, size_t count, size_t message) {
    copy5(lane->state, sha1_initial);
    size_t blocks = count / 64;
    size_t rest = count - blocks * 64;
    lane->next = data;
    lane->full_blocks = blocks;
    if (rest > 0) memcpy(lane->tail, data + blocks * 64, rest);
    lane->tail[rest] = 0x80;
    size_t end = rest < 56 ? 64 : 128;
    memset(lane->tail + rest + 1, 0, end - 8 - rest - 1);
    uint64_t bits = (uint64_t)count * 8;
    for (int i = 0; i < 8; i++) lane->tail[end - 1 - i] = (uint8_t)(bits >> (8 * i));
    lane->tail_blocks = (uint32_t)(end / 64);
    lane->tail_index = 0;
    lane->message = message;
}

static inline const uint8_t *leaf_lane_block(const leaf_lane *lane) {
    return lane->full_blocks > 0 ? lane->next : lane->tail + 64 * lane->tail_index;
}

/// Moves past the block just compressed; 1 when the message is done.
static inline int leaf_lane_advance(leaf_lane *lane) {
    if (lane->full_blocks > 0) {
        lane->next += 64;
        lane->full_blocks--;
        return 0;
    }
    return ++lane->tail_index == lane->tail_blocks;
}

static void hash_leaves(const uint8_t *bytes, const rewind_digest_message *messages, size_t count, uint32_t *leaves) {
    leaf_lane lanes[4];
    int busy[4] = {0, 0, 0, 0};
    size_t next = 0;
    for (;;) {
        uint32_t *states[4];
        const uint8_t *blocks[4];
        int which[4];
        int lanes_used = 0;
        for (int l = 0; l < 4; l++) {
            if (!busy[l]) {
                while (next < count && messages[next].length == REWIND_DIGEST_LEAF_GIVEN) next++;
                if (next < count) {
                    leaf_lane_load(&lanes[l], bytes + messages[next].offset, messages[next].length, next);
                    busy[l] = 1;
                    next++;
                }
            }
            if (busy[l]) {
                states[lanes_used] = lanes[l].state;
                blocks[lanes_used] = leaf_lane_block(&lanes[l]);
                which[lanes_used] = l;
                lanes_used++;
            }
        }
        if (lanes_used == 0) return;
        rewind_sha1_compress_lanes(lanes_used, states, blocks);
        for (int i = 0; i < lanes_used; i++) {
            leaf_lane *lane = &lanes[which[i]];
            if (leaf_lane_advance(lane)) {
                copy5(leaves + 5 * lane->message, lane->state);
                busy[which[i]] = 0;
            }
        }
    }
}

// MARK: - Tasks: chains of SHA-1s of 20-byte values

typedef struct {
    const uint32_t *leaves;
    rewind_digest_key *keys;
    uint32_t *dataset;
    /// SHA1 of each object type as 4 big-endian bytes (redis mixes htonl(type)).
    uint32_t types[256][5];
    /// SHA1("!!expire!!"), XORed into the digest of a key with a TTL.
    uint32_t expire[5];
} program_context;

typedef struct {
    const rewind_digest_task *task;
    uint32_t step;
    /// The input of the step in flight; then, after it, its result.
    uint32_t input[5];
    uint32_t digest[5];
} program_lane;

static inline const uint32_t *leaf(const program_context *context, uint32_t index) {
    return context->leaves + 5 * (size_t)index;
}

/// Puts the input of the lane's next step in `input` and returns 1; or, when the task has no step
/// left, stores what it computed and returns 0.
static int program_next(program_lane *lane, const program_context *context, uint32_t input[5]) {
    const rewind_digest_task *task = lane->task;
    uint32_t step = lane->step++;
    const uint32_t *digest = lane->digest;
    if (task->kind == REWIND_DIGEST_TASK_PAIR) {
        // element = mix(mix(0, a), b); accumulator ^= SHA1(element).
        switch (step) {
        case 0: copy5(input, leaf(context, task->first)); return 1;
        case 1: xor5_of(input, digest, leaf(context, task->first + 1)); return 1;
        case 2: copy5(input, digest); return 1;
        default: xor5(context->keys[task->key].accumulator, digest); return 0;
        }
    }
    int starts = (task->flags & REWIND_DIGEST_STARTS) != 0;
    uint32_t prefix = starts ? 2 : 0;
    uint32_t mixed = starts ? task->count - 1 : task->count;
    if (step < prefix) {
        if (step == 0) {
            copy5(input, leaf(context, task->first));  // mix(0, key): 0 ^ SHA1(key)
        } else {
            xor5_of(input, digest, context->types[(task->flags >> REWIND_DIGEST_TYPE_SHIFT) & 0xFF]);
        }
        return 1;
    }
    if (step < prefix + mixed) {
        xor5_of(input, digest, leaf(context, task->first + (uint32_t)starts + (step - prefix)));
        return 1;
    }
    if (task->flags & REWIND_DIGEST_FINISHES) {
        if (step == prefix + mixed) {
            xor5_of(input, digest, context->keys[task->key].accumulator);
            if (task->flags & REWIND_DIGEST_EXPIRES) xor5(input, context->expire);
            return 1;
        }
        xor5(context->dataset, digest);
        return 0;
    }
    copy5(context->keys[task->key].chain, digest);
    return 0;
}

static void run_programs(const rewind_digest_task *tasks, size_t task_count, uint32_t kind,
                         const program_context *context) {
    program_lane lanes[4];
    int busy[4] = {0, 0, 0, 0};
    size_t next = 0;
    for (;;) {
        uint32_t *outputs[4];
        const uint32_t *inputs[4];
        int lanes_used = 0;
        for (int l = 0; l < 4; l++) {
            program_lane *lane = &lanes[l];
            for (;;) {
                if (!busy[l]) {
                    while (next < task_count && tasks[next].kind != kind) next++;
                    if (next == task_count) break;
                    lane->task = &tasks[next++];
                    lane->step = 0;
                    if (kind == REWIND_DIGEST_TASK_CHAIN && !(lane->task->flags & REWIND_DIGEST_STARTS)) {
                        copy5(lane->digest, context->keys[lane->task->key].chain);
                    } else {
                        memset(lane->digest, 0, sizeof lane->digest);
                    }
                    busy[l] = 1;
                }
                if (program_next(lane, context, lane->input)) {
                    inputs[lanes_used] = lane->input;
                    outputs[lanes_used] = lane->digest;
                    lanes_used++;
                    break;
                }
                busy[l] = 0;
            }
        }
        if (lanes_used == 0) return;
        rewind_sha1_digest_lanes(lanes_used, outputs, inputs);
    }
}

void rewind_digest_batch(const uint8_t *bytes, const rewind_digest_message *messages, size_t message_count,
                         uint32_t *leaves, rewind_digest_key *keys, const rewind_digest_task *tasks,
                         size_t task_count, uint32_t dataset[5]) {
    hash_leaves(bytes, messages, message_count, leaves);
    for (size_t index = 0; index < task_count; index++) {
        const rewind_digest_task *task = &tasks[index];
        if (task->kind != REWIND_DIGEST_TASK_XOR) continue;
        for (uint32_t offset = 0; offset < task->count; offset++) {
            xor5(keys[task->key].accumulator, leaves + 5 * (size_t)(task->first + offset));
        }
    }
    program_context context;
    context.leaves = leaves;
    context.keys = keys;
    context.dataset = dataset;
    // Only the types the tasks name are hashed (at most five: redis's OBJ_STRING ... OBJ_HASH).
    uint8_t hashed[256] = {0};
    for (size_t index = 0; index < task_count; index++) {
        if (tasks[index].kind != REWIND_DIGEST_TASK_CHAIN || !(tasks[index].flags & REWIND_DIGEST_STARTS)) continue;
        uint32_t type = (tasks[index].flags >> REWIND_DIGEST_TYPE_SHIFT) & 0xFF;
        if (hashed[type]) continue;
        hashed[type] = 1;
        uint8_t big_endian[4] = {(uint8_t)(type >> 24), (uint8_t)(type >> 16), (uint8_t)(type >> 8), (uint8_t)type};
        rewind_sha1_message(big_endian, 4, context.types[type]);
    }
    static const char expire_marker[] = "!!expire!!";
    rewind_sha1_message((const uint8_t *)expire_marker, sizeof expire_marker - 1, context.expire);
    run_programs(tasks, task_count, REWIND_DIGEST_TASK_PAIR, &context);
    run_programs(tasks, task_count, REWIND_DIGEST_TASK_CHAIN, &context);
}
