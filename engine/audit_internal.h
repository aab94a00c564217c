/*
 * audit_internal.h - the replay of one chain link, shared by the two
 * sources an auditor can verify: a ledger's chain table (audit_verify.c)
 * and an export file (audit_export_verify.c).  Private to engine/.
 */
#ifndef SETTLE_AUDIT_INTERNAL_H
#define SETTLE_AUDIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "settle/audit.h"
#include "settle/fsm.h"

/* A stored link as read from its source; the pointers are the source's,
 * valid for the call.  A digest or hash of the wrong size is a divergence,
 * not an error: the source stored something that is not a hash. */
typedef struct {
    uint64_t entry_index;
    uint64_t timestamp_ms; /* as stored beside the entry: must be the entry's own */
    const uint8_t *entry;
    size_t entry_size;
    const void *changes_digest;
    size_t changes_digest_size;
    const void *hash;
    size_t hash_size;
} audit_link_t;

/*
 * Applies link's entry to fsm (which verifies signatures as it was told)
 * and compares the link it makes with link.  expected is the index the
 * chain is at: a link with another index names the missing one.  Adds the
 * entry's commands to totals->command_count.  SETTLE_OK when they agree;
 * SETTLE_ERR_CORRUPT with *divergence filled when not; SETTLE_ERR_IO or
 * _NOMEM with error when the replay itself fails.
 */
int audit_replay_link(fsm_t *fsm, fsm_results_t *results, const audit_link_t *link,
                      uint64_t expected, audit_totals_t *totals, audit_divergence_t *divergence,
                      settle_error_t *error);

/* Fills divergence (printf-style); returns SETTLE_ERR_CORRUPT. */
int audit_diverge(audit_divergence_t *divergence, uint64_t entry_index, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* bytes in lower-case hex, NUL-terminated, cut to fit out_size. */
/* Fills the checkpoint count and last checkpointed link of totals from a
 * replayed state machine (audit_verify.c). */
int audit_checkpoint_totals(fsm_t *fsm, audit_totals_t *totals, settle_error_t *error);

void audit_hex(const uint8_t *bytes, size_t size, char *out, size_t out_size);

#endif
