/*
 * enrollment.h - who is covered, by which contract, and when.
 *
 * An enrollment file is YAML:
 *
 *   members:
 *     - id: ACM100234501        # the member id as claims carry it (NM1*IL09)
 *       family: ACM1002345      # members of one family share family accumulators
 *       contract: ACME-PPO-2026 # a contract id
 *       birth_date: 1968-04-12  # may be left out: the age then comes from claim lines
 *       sex: F                  # F, M or U
 *       coverage: {from: 2026-01-01, to: 2026-12-31}   # "to" may be left out
 *
 * On the shared ledger an enrollment is protected (phi.h): ids and families
 * are member keys and birth dates are left out.
 *
 * The loaded list is immutable and sorted by member id; lookups bisect it.
 */
#ifndef SETTLE_ENROLLMENT_H
#define SETTLE_ENROLLMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/contract.h"
#include "settle/error.h"
#include "settle/phi.h"

#define ENROLLMENT_MEMBERS_MAX 10000000

typedef struct {
    char id[CLAIM_MEMBER_ID_SIZE];
    char family[CLAIM_MEMBER_ID_SIZE]; /* the member's own id when not given */
    char contract[CONTRACT_ID_SIZE];
    int32_t birth_date;    /* date.h day number; DATE_NONE when not given (on the shared
                              ledger, always: phi.h) */
    char sex;              /* claim_sex_t */
    int32_t coverage_from; /* first covered day */
    int32_t coverage_to;   /* last covered day; INT32_MAX when open-ended */
} enrollment_member_t;

typedef struct enrollment_s enrollment_t;

/*
 * Reads an enrollment file's text[0..length).  On success *enrollment_out
 * is a new list the caller owns (enrollment_destroy).  On failure returns
 * the code and describes the first problem in error as FILE:LINE:COLUMN
 * (unknown key, missing key, bad date, a member id given twice).
 */
int enrollment_load_text(const char *text, size_t length, const char *file,
                         enrollment_t **enrollment_out, settle_error_t *error);

/* A list of count members given as records (the ledger's rows), sorted
 * by id as a loaded file is; SETTLE_ERR_INVALID when an id is given twice,
 * SETTLE_ERR_TOO_MANY past ENROLLMENT_MEMBERS_MAX, SETTLE_ERR_NOMEM. */
int enrollment_from_members(const enrollment_member_t *members, size_t count,
                            enrollment_t **enrollment_out);

/* Frees the list and sets *self_p to NULL; safe on NULL and twice. */
void enrollment_destroy(enrollment_t **self_p);

/* The member with this id, or NULL; the record belongs to the list. */
const enrollment_member_t *enrollment_find(const enrollment_t *self, const char *member_id);

/* How many members the list holds, and the i-th in id order. */
size_t enrollment_count(const enrollment_t *self);
const enrollment_member_t *enrollment_member(const enrollment_t *self, size_t index);

/* NULL when every member is enrolled by member key (ids and families) and
 * without a birth date, as the shared ledger takes them (phi.h); else what
 * the first member that is not holds in the clear ("its id is not a member
 * key", ...), with its 0-based position in *index_out (may be NULL). */
const char *enrollment_unprotected(const enrollment_t *self, size_t *index_out);

/*
 * The list as a protected enrollment file for payer's key: each id and
 * family its member key, birth dates left out, everything else as it was.
 * *text_out is a new NUL-terminated text the caller frees with settle_free.
 * SETTLE_ERR_NOMEM when out of memory.
 */
int enrollment_protect(const enrollment_t *self, const phi_key_t *key, const char *payer,
                       char **text_out, size_t *size_out);

#endif
