/*
 * claim_codec.h - the canonical, versioned binary encoding of a claim, and
 * its content hash.
 *
 * The encoding is what the ledger stores and signs, so one claim has exactly
 * one encoding: fields in a fixed order, integers big-endian, strings as a
 * 16-bit big-endian length followed by the bytes, counts before the items
 * they count, nothing optional.  decode(encode(c)) equals c, and decode
 * rejects every buffer that encode would not have produced (trailing bytes,
 * out-of-range values, an unknown version), so encode(decode(b)) equals b.
 *
 *   "SCLM"  u16 version  ...claim fields...  u16 line count  ...lines...
 *           u16 cob count  ...other payers' adjustments and line payments...
 *
 * The field order is spelled out once, in claim_codec.c.  A change to the
 * layout is a new version number, and from the first release on old
 * versions stay decodable.  Version 2 added the coordination of benefits
 * records; version 1 never left development, so it is refused; version 3 added the
 * patient block, the sealed identifiers (phi.h) and each line's age.
 */
#ifndef SETTLE_CLAIM_CODEC_H
#define SETTLE_CLAIM_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/error.h"

#define CLAIM_CODEC_VERSION 3
#define CLAIM_HASH_SIZE     32 /* SHA-256 */

/* The exact number of bytes claim_encode_into writes for this claim. */
size_t claim_encoded_size(const claim_t *claim);

/* Writes the encoding into buffer, which must hold claim_encoded_size bytes
 * (SETTLE_ERR_TOO_LONG otherwise).  Allocates nothing.  SETTLE_ERR_INVALID
 * when a field holds a value the encoding cannot carry (more lines than
 * CLAIM_LINES_MAX, counts past their arrays). */
int claim_encode_into(const claim_t *claim, uint8_t *buffer, size_t size);

/* Encodes into a new buffer the caller owns and frees with settle_free. */
int claim_encode(const claim_t *claim, uint8_t **bytes_out, size_t *size_out);

/*
 * Decodes bytes[0..size) into a new claim the caller owns (claim_destroy).
 * A short buffer is SETTLE_ERR_TRUNCATED, a bad value SETTLE_ERR_CORRUPT, an
 * unknown version SETTLE_ERR_VERSION; error, when given, says at which byte
 * offset and in which field.  Never reads outside the buffer.
 */
int claim_decode(const uint8_t *bytes, size_t size, claim_t **claim_out, settle_error_t *error);

/* As claim_decode, into an existing claim (reset first, line memory reused).
 * On failure the claim is left empty, as claim_reset leaves it. */
int claim_decode_into(claim_t *claim, const uint8_t *bytes, size_t size, settle_error_t *error);

/* SHA-256 of the claim's encoding: its content hash, its identity on the ledger. */
int claim_hash(const claim_t *claim, uint8_t hash_out[CLAIM_HASH_SIZE]);

#endif
