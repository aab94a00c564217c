/*
 * contract.h - a plan contract, compiled from YAML into an immutable program.
 *
 * A payer writes its plan as a YAML contract (the language is described,
 * with worked examples, in contracts/README.md).  contract_load_text checks
 * every key and value and compiles the contract into a flat program: arrays
 * and sorted code tables searched by bisection, no hash tables, nothing
 * allocated later.  The program never changes after it is built, so any
 * number of threads may adjudicate against it at once (interp.h).
 *
 * Errors name the file, the line and the column of the offending YAML node,
 * in the form compilers use: "ppo.yaml:12:7: unknown key \"copey\"".
 */
#ifndef SETTLE_CONTRACT_H
#define SETTLE_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "settle/error.h"

/* The compiled program; opaque, read by the interpreter only. */
typedef struct contract_s contract_t;

/* Limits on a contract, so a hostile file cannot make the loader or the
 * interpreter do unbounded work. */
#define CONTRACT_TEXT_SIZE_MAX  (1u << 22) /* 4 MiB of YAML */
#define CONTRACT_NODES_MAX      200000     /* YAML nodes visited, aliases included */
#define CONTRACT_ID_SIZE        65         /* contract id, version, payer, benefit names */
#define CONTRACT_CODE_SIZE      16         /* procedure codes, as claim.h */

/* Called once per problem found, in file order (nonzero count of problems
 * can be more than one: the loader goes on after a bad value to report the
 * next).  The record is valid only for the call. */
typedef void (*contract_report_fn)(const settle_error_t *problem, void *context);

/*
 * Compiles the contract text[0..length) (YAML, need not be NUL-terminated).
 * file names the input in error messages.  On success *contract_out is a
 * new program the caller owns (contract_destroy).  On failure returns the
 * first problem's code, describes that problem in error (when not NULL),
 * calls report (when not NULL) for every problem found, and writes nothing
 * to *contract_out.  Never crashes on any input; SETTLE_ERR_NOMEM when out
 * of memory, with nothing leaked.
 */
int contract_load_text(const char *text, size_t length, const char *file,
                       contract_t **contract_out, settle_error_t *error,
                       contract_report_fn report, void *report_context);

/* Frees the program and sets *self_p to NULL; safe on NULL and twice. */
void contract_destroy(contract_t **self_p);

/* The contract's identity, as written in the file; the strings belong to
 * the program and live as long as it does. */
const char *contract_id(const contract_t *self);
const char *contract_version(const contract_t *self);
const char *contract_payer(const contract_t *self);

/* The first and last day the contract is in force (date.h day numbers);
 * the last is INT32_MAX when the contract has no end. */
int32_t contract_effective_from(const contract_t *self);
int32_t contract_effective_to(const contract_t *self);

/*
 * The standard Claim Adjustment Reason Codes the language knows (the table
 * is in contract_load.c): the text of a CARC, such as "Deductible Amount"
 * for "1", or NULL for a code not in the table.  Contracts may deny with
 * only these codes.
 */
const char *contract_reason_text(const char *carc);

#endif
