/*
 * merkle.c - Merkle tree hashes and inclusion proofs (RFC 6962 tree shape,
 * RFC 9162 proof verification), SHA-256 through OpenSSL.
 *
 * The tree over n leaves splits at k, the largest power of two below n:
 * MTH(D[0:n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
 */
#include "settle/merkle.h"

#include <openssl/evp.h>
#include <string.h>

/* SHA-256(prefix || a || b), b optional. */
static int s_hash(uint8_t prefix, const void *a, size_t a_size, const void *b, size_t b_size,
                  uint8_t out[MERKLE_HASH_SIZE])
{
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    unsigned int length = 0;
    int ok = context && EVP_DigestInit_ex(context, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(context, &prefix, 1) == 1 &&
             EVP_DigestUpdate(context, a, a_size) == 1 &&
             (b_size == 0 || EVP_DigestUpdate(context, b, b_size) == 1) &&
             EVP_DigestFinal_ex(context, out, &length) == 1 && length == MERKLE_HASH_SIZE;
    EVP_MD_CTX_free(context);
    return ok ? SETTLE_OK : SETTLE_ERR_CRYPTO;
}

static int s_node(const uint8_t left[MERKLE_HASH_SIZE], const uint8_t right[MERKLE_HASH_SIZE],
                  uint8_t out[MERKLE_HASH_SIZE])
{
    return s_hash(0x01, left, MERKLE_HASH_SIZE, right, MERKLE_HASH_SIZE, out);
}

int merkle_leaf_hash(const void *data, size_t size, uint8_t hash_out[MERKLE_HASH_SIZE])
{
    static const uint8_t nothing = 0;
    return s_hash(0x00, size ? data : &nothing, size, NULL, 0, hash_out);
}

/* The largest power of two strictly below count (count >= 2). */
static size_t s_split(size_t count)
{
    size_t k = 1;
    while (k << 1 < count)
        k <<= 1;
    return k;
}

int merkle_root(const uint8_t (*leaves)[MERKLE_HASH_SIZE], size_t count,
                uint8_t root_out[MERKLE_HASH_SIZE])
{
    if (!leaves || count == 0)
        return SETTLE_ERR_INVALID;
    if (count == 1) {
        memcpy(root_out, leaves[0], MERKLE_HASH_SIZE);
        return SETTLE_OK;
    }
    size_t k = s_split(count);
    uint8_t left[MERKLE_HASH_SIZE], right[MERKLE_HASH_SIZE];
    int rc = merkle_root(leaves, k, left);
    if (rc == SETTLE_OK)
        rc = merkle_root(leaves + k, count - k, right);
    if (rc == SETTLE_OK)
        rc = s_node(left, right, root_out);
    return rc;
}

int merkle_path(const uint8_t (*leaves)[MERKLE_HASH_SIZE], size_t count, size_t index,
                uint8_t (*path_out)[MERKLE_HASH_SIZE], size_t *length_out)
{
    if (!leaves || index >= count)
        return SETTLE_ERR_RANGE;
    /* Walk down from the root, noting each sibling subtree; the proof lists
     * them from the leaf up, so they are written back to front. */
    size_t depth = 0, start = 0, size = count;
    uint8_t siblings[MERKLE_PATH_MAX][MERKLE_HASH_SIZE];
    while (size > 1) {
        size_t k = s_split(size);
        int rc;
        if (index - start < k) {
            rc = merkle_root(leaves + start + k, size - k, siblings[depth]);
            size = k;
        } else {
            rc = merkle_root(leaves + start, k, siblings[depth]);
            start += k;
            size -= k;
        }
        if (rc != SETTLE_OK)
            return rc;
        depth++;
    }
    for (size_t i = 0; i < depth; i++)
        memcpy(path_out[i], siblings[depth - 1 - i], MERKLE_HASH_SIZE);
    *length_out = depth;
    return SETTLE_OK;
}

bool merkle_verify(const uint8_t leaf[MERKLE_HASH_SIZE], size_t index, size_t count,
                   const uint8_t (*path)[MERKLE_HASH_SIZE], size_t length,
                   const uint8_t root[MERKLE_HASH_SIZE])
{
    if (index >= count || length > MERKLE_PATH_MAX)
        return false;
    size_t fn = index, sn = count - 1;
    uint8_t r[MERKLE_HASH_SIZE];
    memcpy(r, leaf, MERKLE_HASH_SIZE);
    for (size_t i = 0; i < length; i++) {
        if (sn == 0)
            return false;
        int rc;
        if ((fn & 1) || fn == sn) {
            rc = s_node(path[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            rc = s_node(r, path[i], r);
        }
        if (rc != SETTLE_OK)
            return false;
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, MERKLE_HASH_SIZE) == 0;
}
