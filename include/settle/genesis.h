/*
 * genesis.h - the genesis file: the YAML that names a cluster's first
 * participants, and the first Raft entry made from it.
 *
 *   participants:
 *     - id: node-1              # participant id (a payer's id is its claims' payer id)
 *       role: node              # payer | provider | auditor | node
 *       public_key: 64 hex digits   # or  key_file: PATH (a `settle keygen` FILE.pub,
 *       name: Node one          #      relative to the genesis file's folder)
 *       npi: "1234567893"       # providers only
 *
 * Each participant becomes a register command signed by the reserved id
 * "genesis" with sequences 0, 1, 2... (see fsm.h); the leader puts them in
 * the first entry with its own timestamp.  Errors name FILE:LINE:COLUMN.
 */
#ifndef SETTLE_GENESIS_H
#define SETTLE_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "settle/command.h"
#include "settle/error.h"

#define GENESIS_PARTICIPANTS_MAX 256
#define GENESIS_FILE_SIZE_MAX    (1u << 20)

/* A loaded genesis file: its register commands, encoded and unsigned. */
typedef struct {
    uint32_t count;
    uint8_t *commands[GENESIS_PARTICIPANTS_MAX]; /* command_encode output, owned */
    size_t sizes[GENESIS_PARTICIPANTS_MAX];
} genesis_t;

/*
 * Reads the genesis file at path into a new genesis_t the caller frees with
 * genesis_destroy.  SETTLE_ERR_IO when it cannot be read, SETTLE_ERR_SYNTAX
 * for bad YAML, SETTLE_ERR_MISSING / _UNKNOWN_KEY / _INVALID for a bad
 * participant; error names FILE:LINE:COLUMN.  *genesis_out is written only
 * on success.
 */
int genesis_load(const char *path, genesis_t **genesis_out, settle_error_t *error);

/* Frees the genesis and nulls the pointer; safe on NULL and twice. */
void genesis_destroy(genesis_t **genesis_p);

/* The genesis entry stamped timestamp_ms (command_entry_encode), in a new
 * buffer the caller frees with settle_free. */
int genesis_entry(const genesis_t *genesis, uint64_t timestamp_ms, uint8_t **bytes_out,
                  size_t *size_out);

#endif
