/*
 * merkle.h - Merkle tree hashes and inclusion proofs over a batch (RFC 6962 /
 * RFC 9162 shape, SHA-256).
 *
 * A batch of claims is signed once, over the Merkle root of its claims'
 * content hashes; any one claim can then be shown to be in the batch with a
 * path of log2(n) hashes, without the other claims.  Leaves and inner nodes
 * are hashed with different prefixes (0x00 and 0x01) so that no inner node
 * can pass for a leaf, and an odd node is carried up, never duplicated, so
 * two different batches never share a root.
 */
#ifndef SETTLE_MERKLE_H
#define SETTLE_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/error.h"

#define MERKLE_HASH_SIZE 32
#define MERKLE_PATH_MAX  64 /* enough for 2^64 leaves */

/*
 * A hasher holds one SHA-256 context and the algorithm, fetched once, for
 * the many hashes of a tree (merkle_leaf_hash and merkle_root make one per
 * call).  Not to be shared between threads.  merkle_hasher_new returns NULL
 * when out of memory or without SHA-256; destroy nulls the pointer and
 * takes NULL.
 */
typedef struct merkle_hasher_s merkle_hasher_t;

merkle_hasher_t *merkle_hasher_new(void);
void merkle_hasher_destroy(merkle_hasher_t **self_p);

/* merkle_leaf_hash and merkle_root with the hasher's context. */
int merkle_hasher_leaf(merkle_hasher_t *hasher, const void *data, size_t size,
                       uint8_t hash_out[MERKLE_HASH_SIZE]);
int merkle_hasher_root(merkle_hasher_t *hasher, const uint8_t (*leaves)[MERKLE_HASH_SIZE],
                       size_t count, uint8_t root_out[MERKLE_HASH_SIZE]);

/* SHA-256(data) with the hasher's context: a batch's leaves are its
 * claims' content hashes (command.h says why that is safe). */
int merkle_hasher_sha256(merkle_hasher_t *hasher, const void *data, size_t size,
                         uint8_t hash_out[MERKLE_HASH_SIZE]);

/* SHA-256(0x00 || data): the leaf hash of one item. */
int merkle_leaf_hash(const void *data, size_t size, uint8_t hash_out[MERKLE_HASH_SIZE]);

/*
 * The root over count leaf hashes, in order (made with merkle_leaf_hash;
 * a batch of claims uses its claims' content hashes, command.h).
 * SETTLE_ERR_INVALID for count 0.  Allocates nothing: the recursion is
 * log2(count) deep.
 */
int merkle_root(const uint8_t (*leaves)[MERKLE_HASH_SIZE], size_t count,
                uint8_t root_out[MERKLE_HASH_SIZE]);

/*
 * The inclusion proof of leaf index among count leaves: path_out receives
 * the sibling hashes from the leaf upward, *length_out how many (at most
 * MERKLE_PATH_MAX).  SETTLE_ERR_RANGE when index >= count.
 */
int merkle_path(const uint8_t (*leaves)[MERKLE_HASH_SIZE], size_t count, size_t index,
                uint8_t (*path_out)[MERKLE_HASH_SIZE], size_t *length_out);

/* True when leaf, at index among count leaves, with path, gives root. */
bool merkle_verify(const uint8_t leaf[MERKLE_HASH_SIZE], size_t index, size_t count,
                   const uint8_t (*path)[MERKLE_HASH_SIZE], size_t length,
                   const uint8_t root[MERKLE_HASH_SIZE]);

#endif
