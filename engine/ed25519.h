/*
 * ed25519.h - Ed25519 signature verification, one signature or many at
 * once (private to engine/; sign.h is the public face).
 *
 * OpenSSL signs; this verifies, because OpenSSL 3.0 verifies one signature
 * at a time and a batch is much cheaper checked together: the sum
 *
 *     [8] ( [sum z_i S_i] B  -  sum [z_i] R_i  -  sum [z_i h_i] A_i ) == 0
 *
 * with h_i = SHA-512(R_i || A_i || M_i) mod L and 128-bit coefficients z_i
 * holds, but for a chance of 2^-128, only when every signature's own
 * equation [8][S_i]B == [8]R_i + [8][h_i]A_i holds.  The coefficients are
 * derived from a SHA-512 of everything being checked (every R, A, S and
 * h), so verification is deterministic - the state machine and the audit
 * call it - while a signer cannot choose them: they change with anything
 * it changes.  One signature is a batch of one.
 *
 * The rule is the cofactored one (RFC 8032 5.1.7 allows it; ZIP 215 made
 * it a rule so that batches and single checks always agree): the same
 * answer for one signature alone and inside any batch.  It differs from
 * OpenSSL's (cofactorless) only for what no honest signer makes: an R or
 * A with a small-order part.  A signer can craft such a signature over
 * its own key (R = rB + T, T of order 2, say): settle accepts it and
 * OpenSSL refuses it.  That gains it nothing on the ledger, where every
 * node, apply and audit use this rule; a verifier outside settle should
 * use it too (ed25519_torsion_free tells the two cases apart).  Refused besides:
 * an S not below L, an A or R whose y is not below p (non-canonical) or
 * that is not a point, x = 0 encoded with its sign bit set, and a public
 * key of small order (one of the eight points [8]A == 0: a key anyone
 * could sign for).  Variable time: it checks public data only.
 */
#ifndef SETTLE_ED25519_H
#define SETTLE_ED25519_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/sign.h"

/* At most this many signatures are combined into one sum; a longer
 * batch is checked in chunks of this size. */
#define ED25519_BATCH_MAX 64

/* SETTLE_OK when every item's signature verifies (count 0 included);
 * SETTLE_ERR_SIGNATURE when at least one does not (check them one by one,
 * count 1, to know which); SETTLE_ERR_NOMEM when memory ran out. */
int ed25519_verify_batch(const sign_item_t *items, size_t count);

/* Whether the 32 bytes encode a point of the prime-order subgroup ([L]P
 * is the identity): where settle's rule and OpenSSL's agree.  false for
 * an encoding that is no point.  For tests; a full scalar multiplication. */
bool ed25519_torsion_free(const uint8_t encoding[32]);

#endif
