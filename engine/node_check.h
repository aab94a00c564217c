/*
 * node_check.h - the intake's check of a submit (private to
 * settled): every command decodes, its signer is registered, and its
 * signature verifies.  Signature checks are the costliest part of taking a
 * command in (an Ed25519 verification and the batch's Merkle root), so they
 * run on the intake's threads, beside the Raft loop (a lone submit's on
 * it, where handing it over would cost more than the check), against
 * the ledger as last committed, read through a connection of the thread's
 * own (the ledger file is in WAL mode: readers never wait for the writer).
 *
 * The loop then checks what depends on the state it is about to change
 * (role, sequence) without verifying the signature again.  A command whose
 * signer is registered by an entry not yet committed is refused here; the
 * client sends it again once that entry is answered.
 */
#ifndef SETTLE_NODE_CHECK_H
#define SETTLE_NODE_CHECK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/command.h"
#include "settle/error.h"
#include "settle/sign.h"

typedef struct node_check_s node_check_t;

/* Opens a reading connection to the ledger file at path (made already by
 * the state machine).  NULL when it cannot (error says why).
 *
 * Signers' rows are kept between checks (a payer signs thousands of
 * commands, and each read of the ledger is a read transaction with its
 * locks), each marked with *participants_version as it was before the
 * row was read; a row is used again only while that version is unchanged.
 * The loop bumps it when an applied entry registers, rotates or revokes,
 * and when the node becomes leader (node_intake.h).  A row a moment stale
 * cannot let anything wrong in: the loop checks role, sequence and
 * revocation against the applied state, and apply verifies again the
 * commands of a signer whose key has changed (fsm.h). */
node_check_t *node_check_open(const char *path, const atomic_uint_fast64_t *participants_version,
                              settle_error_t *error);

/* Closes it; nulls the pointer; safe on NULL. */
void node_check_close(node_check_t **self_p);

/* SETTLE_OK when the command decodes, its signer is registered and its
 * signature verifies; otherwise the reason. */
int node_check_command(node_check_t *self, const uint8_t *bytes, size_t size,
                       settle_error_t *reason);

/* A command ready for its signature check: what was signed, by which key. */
typedef struct {
    uint8_t digest[COMMAND_DIGEST_SIZE]; /* command_signing_digest */
    uint8_t public_key[SIGN_PUBLIC_KEY_SIZE];
    uint8_t signature[SIGN_SIGNATURE_SIZE];
} node_check_signed_t;

/* node_check_command but the signature check itself, left to the caller
 * (sign_verify_batch over many commands, node_verify.c): SETTLE_OK with
 * out filled when the command decodes and its signer is registered;
 * otherwise the reason, as node_check_command gives it. */
int node_check_prepare(node_check_t *self, const uint8_t *bytes, size_t size,
                       node_check_signed_t *out, settle_error_t *reason);

#endif
