/*
 * node_query.c - the intake's read-only verbs, answered from the ledger
 * (include/settle/node_query.h; the texts are in node.h).
 *
 * Each verb checks its arguments, reads through ledger_query.h and the
 * ledger's own readers, and writes its answer into one growing text.  The
 * remit verb rebuilds the payment's remittance from the ledger: each paid
 * claim as submitted (decoded from the chain entry that carried it) with
 * its stored decision, a replacement preceded by the reversal of the claim
 * it replaces (remit_build.h), dated by the payment's entry and traced by
 * the payment id, and checks that it adds up to what the ledger paid
 * before the writer checks that it balances.
 */
#include <czmq.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/hash.h"
#include "settle/ledger_query.h"
#include "settle/node_query.h"
#include "settle/remit_build.h"

#define S_MS_PER_DAY    INT64_C(86400000)
#define S_MS_PER_MINUTE INT64_C(60000)

typedef struct {
    ledger_t *ledger;
    const node_query_options_t *options;
    char *text; /* the answer so far, NUL-terminated */
    size_t length;
    size_t capacity;
    interp_decision_t *decision;
    interp_changes_t *changes;
    claim_t *claim;
    remit_t *remit; /* the remit verb's */
    uint32_t count; /* rows answered */
    settle_error_t *error;
} s_query_t;

/* ------------------------------------------------------------------------
 * The answer's text
 * ------------------------------------------------------------------------ */

static int s_grow(s_query_t *q, size_t wanted)
{
    if (wanted > NODE_QUERY_TEXT_SIZE_MAX)
        return settle_error_set(q->error, SETTLE_ERR_TOO_LONG, "the answer is longer than %u bytes",
                                NODE_QUERY_TEXT_SIZE_MAX);
    size_t capacity = q->capacity ? q->capacity : 1024;
    while (capacity < wanted)
        capacity *= 2;
    char *grown = capacity == q->capacity ? q->text : settle_realloc(q->text, capacity);
    if (!grown)
        return settle_error_set(q->error, SETTLE_ERR_NOMEM, "out of memory answering a query");
    q->text = grown;
    q->capacity = capacity;
    return SETTLE_OK;
}

/* Appends printf-style text to the answer. */
__attribute__((format(printf, 2, 3))) static int s_say(s_query_t *q, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    int rc = length < 0 ? settle_error_set(q->error, SETTLE_ERR_INVALID, "cannot format")
                        : s_grow(q, q->length + (size_t)length + 1);
    if (rc != SETTLE_OK)
        return rc;
    va_start(args, format);
    vsnprintf(q->text + q->length, q->capacity - q->length, format, args);
    va_end(args);
    q->length += (size_t)length;
    return SETTLE_OK;
}

static const char *s_or_dash(const char *text)
{
    return text[0] ? text : "-";
}

/* ------------------------------------------------------------------------
 * claim CLAIM-ID [PAYER]
 * ------------------------------------------------------------------------ */

/* "line N CODE billed=C allowed=C paid=C patient=C adj=GRP-RSN:C,..|-" */
static int s_say_line(s_query_t *q, const interp_line_t *line)
{
    int rc = s_say(q,
                   "line %" PRIu32 " %s billed=%" PRId64 " allowed=%" PRId64 " paid=%" PRId64
                   " patient=%" PRId64 " adj=",
                   line->line, line->code, line->billed_cents, line->allowed_cents,
                   line->paid_cents, line->patient_cents);
    for (uint32_t a = 0; rc == SETTLE_OK && a < line->adjustment_count; a++)
        rc = s_say(q, "%s%s-%s:%" PRId64, a ? "," : "", line->adjustments[a].group,
                   line->adjustments[a].reason, line->adjustments[a].amount_cents);
    return rc == SETTLE_OK ? s_say(q, "%s\n", line->adjustment_count ? "" : "-") : rc;
}

/* The lines of the claim's decision; none for a claim rejected before the
 * interpreter, which has no decision. */
static int s_say_lines(s_query_t *q, const ledger_claim_t *row)
{
    settle_error_t problem;
    int rc = ledger_claim_decision(q->ledger, row->payer, row->claim_id, q->decision, q->changes,
                                   &problem);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return SETTLE_OK;
    if (rc != SETTLE_OK)
        return settle_error_set(q->error, rc, "%s", problem.message);
    for (uint32_t i = 0; rc == SETTLE_OK && i < q->decision->line_count; i++)
        rc = s_say_line(q, &q->decision->lines[i]);
    return rc;
}

/* Whether the asker may read what payer pays and npi bills (npi NULL:
 * not a provider's to read); node_query.h says who may read what. */
static bool s_may_read(const s_query_t *q, const char *payer, const char *npi)
{
    const node_query_options_t *o = q->options;
    if (!o || !o->viewer[0])
        return true;
    switch (o->viewer_role) {
    case COMMAND_ROLE_AUDITOR:
    case COMMAND_ROLE_NODE:
        return true;
    case COMMAND_ROLE_PAYER:
        return strcmp(payer, o->viewer) == 0;
    case COMMAND_ROLE_PROVIDER:
        return npi && o->viewer_npi[0] && strcmp(npi, o->viewer_npi) == 0;
    default:
        return false;
    }
}

/* "member KEY" and "phi HEX": the claim's member key and its sealed
 * identifiers, which only the payer's PHI secret opens (phi.h); "-" for a
 * claim stored before claims were protected. */
static int s_say_sealed(s_query_t *q, const ledger_claim_t *row)
{
    settle_error_t problem;
    int rc = ledger_claim_content(q->ledger, row, q->claim, &problem);
    if (rc != SETTLE_OK)
        return settle_error_set(q->error, rc, "%s", problem.message);
    char hex[2 * CLAIM_PHI_SIZE_MAX + 1] = "-";
    if (q->claim->phi_size)
        hash_to_hex(q->claim->phi, q->claim->phi_size, hex);
    return s_say(q, "member %s\nphi %s\n", s_or_dash(q->claim->member_id), hex);
}

static int s_say_claim(const ledger_claim_t *row, void *context)
{
    s_query_t *q = context;
    if (!s_may_read(q, row->payer, row->billing_npi))
        return SETTLE_OK; /* not the asker's: as if absent */
    char hash[HASH_SHA256_HEX_SIZE];
    hash_to_hex(row->content_hash, sizeof row->content_hash, hash);
    int rc =
        s_say(q,
              "%sclaim %s\npayer %s\nprovider %s\nfrequency %u\nrelated %s\nstatus %s\n"
              "billed %" PRId64 "\nallowed %" PRId64 "\npaid %" PRId64 "\npatient %" PRId64
              "\nnet %" PRId64 "\nsettlement %s\npayment %s\nvoided_by %s\n"
              "index %" PRIu64 "\ncontent_hash %s\nreason %s\n",
              q->count++ ? "\n" : "", row->claim_id, row->payer, row->billing_npi, row->frequency,
              s_or_dash(row->related_claim_id), interp_status_name((interp_status_t)row->status),
              row->billed_cents, row->allowed_cents, row->paid_cents, row->patient_cents,
              row->net_cents, row->settlement, s_or_dash(row->payment_id),
              s_or_dash(row->voided_by), row->entry_index, hash, s_or_dash(row->reason));
    if (rc == SETTLE_OK)
        rc = s_say_sealed(q, row);
    return rc == SETTLE_OK ? s_say_lines(q, row) : rc;
}

static int s_verb_claim(s_query_t *q, char args[][NODE_QUERY_ARG_SIZE], size_t count)
{
    settle_error_t problem;
    int rc = ledger_claim_each_with_id(q->ledger, args[0], count > 1 ? args[1] : NULL, s_say_claim,
                                       q, &problem);
    if ((rc == SETTLE_ERR_NOT_FOUND || rc == SETTLE_OK) && q->count == 0)
        return settle_error_set(q->error, SETTLE_ERR_NOT_FOUND, "no claim %s%s%s", args[0],
                                count > 1 ? " of payer " : "", count > 1 ? args[1] : "");
    if (rc != SETTLE_OK && q->error->code == SETTLE_OK)
        settle_error_set(q->error, rc, "%s", problem.message);
    return rc;
}

/* ------------------------------------------------------------------------
 * payment PAYMENT-ID
 * ------------------------------------------------------------------------ */

static int s_say_payment_claim(const ledger_claim_t *row, void *context)
{
    return s_say(context, "claim %s paid=%" PRId64 " net=%" PRId64 "\n", row->claim_id,
                 row->paid_cents, row->net_cents);
}

/* The payment's row, its error the reply's. */
static int s_payment(s_query_t *q, const char *payment_id, ledger_payment_t *payment)
{
    settle_error_t problem;
    int rc = ledger_payment_get(q->ledger, payment_id, payment, &problem);
    if (rc != SETTLE_OK)
        settle_error_set(q->error, rc, "%s", problem.message);
    else if (!s_may_read(q, payment->payer, payment->npi))
        rc = settle_error_set(q->error, SETTLE_ERR_NOT_FOUND, "no payment %s", payment_id);
    return rc;
}

static int s_verb_payment(s_query_t *q, char args[][NODE_QUERY_ARG_SIZE], size_t count)
{
    (void)count;
    ledger_payment_t payment;
    int rc = s_payment(q, args[0], &payment);
    if (rc == SETTLE_OK)
        rc = s_say(q,
                   "payment %s\npayer %s\nprovider %s\ntotal %" PRId64 "\nclaims %" PRIu32
                   "\nindex %" PRIu64 "\n",
                   payment.payment_id, payment.payer, payment.npi, payment.total_cents,
                   payment.claim_count, payment.entry_index);
    settle_error_t problem;
    settle_error_clear(&problem);
    if (rc == SETTLE_OK)
        rc = ledger_payment_claim_each(q->ledger, &payment, s_say_payment_claim, q, &problem);
    if (rc != SETTLE_OK && q->error->code == SETTLE_OK)
        settle_error_set(q->error, rc, "%s", problem.message);
    return rc;
}

/* ------------------------------------------------------------------------
 * participant ID, accumulators PAYER MEMBER
 * ------------------------------------------------------------------------ */

/* participant ID, or participant npi NPI: the provider billing under NPI
 * (a payer's client seals each claim's identifiers to it too, phi.h). */
static int s_verb_participant(s_query_t *q, char args[][NODE_QUERY_ARG_SIZE], size_t count)
{
    if (count == 2 && strcmp(args[0], "npi") != 0)
        return settle_error_set(q->error, SETTLE_ERR_INVALID,
                                "participant: expected ID, or npi NPI");
    ledger_participant_t row;
    const char *which = count == 2 ? args[1] : args[0];
    int rc = count == 2 ? ledger_participant_by_npi(q->ledger, which, &row)
                        : ledger_participant_get(q->ledger, which, &row);
    if (rc == SETTLE_ERR_NOT_FOUND)
        return settle_error_set(q->error, rc, "no participant %s%s", count == 2 ? "with NPI " : "",
                                which);
    if (rc != SETTLE_OK)
        return settle_error_set(q->error, rc, "ledger: cannot read participant %s", which);
    char key[2 * SIGN_PUBLIC_KEY_SIZE + 1];
    hash_to_hex(row.public_key, sizeof row.public_key, key);
    return s_say(q,
                 "participant %s\nrole %s\nname %s\nnpi %s\npublic_key %s\nnext_sequence %" PRIu64
                 "\nkey_entry %" PRIu64 "\nrevoked_entry %" PRIu64 "\n",
                 row.id, command_role_name(row.role), row.name, s_or_dash(row.npi), key,
                 row.next_sequence, row.key_entry, row.revoked_entry);
}

static const char *s_kind_name(uint8_t kind)
{
    static const char *const names[] = {"deductible_individual", "deductible_family",
                                        "oop_individual", "oop_family", "benefit_units"};
    return kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

static int s_say_total(const char *payer, const interp_accumulator_t *total, void *context)
{
    (void)payer;
    return s_say(context, "%s %" PRId32 " %s %s %" PRId64 "\n", s_kind_name(total->kind),
                 total->year, total->key, s_or_dash(total->benefit), total->amount);
}

static int s_verb_accumulators(s_query_t *q, char args[][NODE_QUERY_ARG_SIZE], size_t count)
{
    (void)count;
    enrollment_member_t member;
    settle_error_t problem;
    settle_error_clear(&problem);
    if (!s_may_read(q, args[0], NULL))
        return settle_error_set(q->error, SETTLE_ERR_NOT_FOUND, "no member %s of payer %s", args[1],
                                args[0]);
    int rc = ledger_member_get(q->ledger, args[0], args[1], &member, &problem);
    if (rc == SETTLE_OK)
        rc = ledger_member_total_each(q->ledger, args[0], &member, s_say_total, q, &problem);
    if (rc != SETTLE_OK && q->error->code == SETTLE_OK)
        settle_error_set(q->error, rc, "%s", problem.message);
    return rc;
}

/* ------------------------------------------------------------------------
 * remit PAYMENT-ID x12|fhir
 * ------------------------------------------------------------------------ */

/* Loads a claims row's claim, as submitted, and its decision into q. */
static int s_load_answer(s_query_t *q, const ledger_claim_t *row, settle_error_t *problem)
{
    int rc = ledger_claim_decision(q->ledger, row->payer, row->claim_id, q->decision, q->changes,
                                   problem);
    return rc == SETTLE_OK ? ledger_claim_content(q->ledger, row, q->claim, problem) : rc;
}

/* Adds the reversal of the claim a replacement replaces, when the
 * remittance does not hold that claim (it was paid in an earlier payment;
 * when it holds it, remit_add_answer reverses it). */
static int s_reverse_original(s_query_t *q, const ledger_claim_t *row, settle_error_t *problem)
{
    if (row->frequency != CLAIM_FREQUENCY_REPLACEMENT || !row->related_claim_id[0] ||
        remit_find_claim(q->remit, row->related_claim_id))
        return SETTLE_OK;
    ledger_claim_t original;
    if (ledger_claim_get(q->ledger, row->payer, row->related_claim_id, &original) != SETTLE_OK)
        return settle_error_set(problem, SETTLE_ERR_CORRUPT, "claim %s replaces %s, not found",
                                row->claim_id, row->related_claim_id);
    char number[REMIT_CLAIM_NUMBER_DIGITS + 1];
    remit_claim_number(original.content_hash, number);
    remit_t *scratch = remit_new();
    int rc = scratch ? s_load_answer(q, &original, problem)
                     : settle_error_set(problem, SETTLE_ERR_NOMEM, "out of memory");
    if (rc == SETTLE_OK)
        rc = remit_add_claim(scratch, q->claim, q->decision, number, NULL, problem);
    if (rc == SETTLE_OK)
        rc = remit_add_reversal(q->remit, &scratch->claims[0], problem);
    remit_destroy(&scratch);
    return rc;
}

static int s_remit_claim(const ledger_claim_t *row, void *context)
{
    s_query_t *q = context;
    settle_error_t problem;
    settle_error_clear(&problem);
    char number[REMIT_CLAIM_NUMBER_DIGITS + 1];
    remit_claim_number(row->content_hash, number);
    int rc = s_reverse_original(q, row, &problem);
    if (rc == SETTLE_OK)
        rc = s_load_answer(q, row, &problem);
    if (rc == SETTLE_OK)
        rc = remit_add_answer(q->remit, q->claim, q->decision, number, &problem);
    if (rc != SETTLE_OK)
        settle_error_set(q->error, rc, "remit: %s", problem.message);
    return rc;
}

/* A name as an 835 element can carry it: no delimiter, printable ASCII. */
static void s_x12_name(char *field, size_t field_size, const char *name)
{
    size_t i = 0;
    for (; name[i] && i + 1 < field_size; i++) {
        char c = name[i];
        field[i] = c < ' ' || c > '~' || strchr("*:^~", c) ? ' ' : c;
    }
    field[i] = '\0';
}

/* The remittance's header: the payer, the payee, the date and time of the
 * payment's entry, the payment and its trace number. */
static int s_remit_header(s_query_t *q, const ledger_payment_t *payment, uint32_t *time_hhmm)
{
    remit_t *remit = q->remit;
    settle_error_t problem;
    ledger_participant_t payer, provider;
    uint8_t *entry = NULL;
    size_t size;
    uint64_t timestamp_ms = 0;
    int rc =
        ledger_chain_entry(q->ledger, payment->entry_index, &timestamp_ms, &entry, &size, &problem);
    settle_free(entry);
    if (rc == SETTLE_OK)
        rc = ledger_provider_by_npi(q->ledger, payment->npi, &provider, &problem);
    if (rc == SETTLE_ERR_NOT_FOUND) { /* a payee need not be registered to be paid */
        snprintf(provider.name, sizeof provider.name, "PROVIDER %s", payment->npi);
        rc = SETTLE_OK;
    }
    if (rc != SETTLE_OK)
        return settle_error_set(q->error, rc, "remit: %s", problem.message);
    bool named = ledger_participant_get(q->ledger, payment->payer, &payer) == SETTLE_OK;
    snprintf(remit->payer_id, sizeof remit->payer_id, "%s", payment->payer);
    s_x12_name(remit->payer_name, sizeof remit->payer_name, named ? payer.name : payment->payer);
    s_x12_name(remit->payee_name, sizeof remit->payee_name, provider.name);
    snprintf(remit->payee_npi, sizeof remit->payee_npi, "%s", payment->npi);
    if (q->options)
        memcpy(remit->payer_tax_id, q->options->payer_tax_id, sizeof remit->payer_tax_id);
    remit->payment_date = (int32_t)(timestamp_ms / S_MS_PER_DAY);
    remit->payment_cents = payment->total_cents;
    remit->method = payment->total_cents == 0 ? REMIT_METHOD_NONE : REMIT_METHOD_CHECK;
    size_t trace_length = strlen(payment->payment_id);
    if (trace_length >= sizeof remit->trace_number)
        return settle_error_set(q->error, SETTLE_ERR_TOO_LONG,
                                "remit: payment id %s is too long for a trace number (TRN02)",
                                payment->payment_id);
    memcpy(remit->trace_number, payment->payment_id, trace_length + 1);
    uint64_t minutes = (timestamp_ms % S_MS_PER_DAY) / S_MS_PER_MINUTE;
    *time_hhmm = (uint32_t)(minutes / 60 * 100 + minutes % 60);
    return SETTLE_OK;
}

/* The claims, rebuilt, must come to what the ledger paid. */
static int s_remit_claims(s_query_t *q, const ledger_payment_t *payment)
{
    settle_error_t problem;
    settle_error_clear(&problem);
    int rc = ledger_payment_claim_each(q->ledger, payment, s_remit_claim, q, &problem);
    if (rc != SETTLE_OK && q->error->code == SETTLE_OK)
        settle_error_set(q->error, rc, "remit: %s", problem.message);
    int64_t due = 0;
    if (rc == SETTLE_OK && remit_payment_due(q->remit, &due) != SETTLE_OK)
        rc = settle_error_set(q->error, SETTLE_ERR_OVERFLOW, "remit: payment %s overflows",
                              payment->payment_id);
    if (rc == SETTLE_OK && due != payment->total_cents)
        rc = settle_error_set(q->error, SETTLE_ERR_CORRUPT,
                              "remit: payment %s: its claims come to %" PRId64
                              " cents but the ledger paid %" PRId64,
                              payment->payment_id, due, payment->total_cents);
    return rc;
}

static int s_verb_remit(s_query_t *q, char args[][NODE_QUERY_ARG_SIZE], size_t count)
{
    (void)count;
    const char *format = args[1];
    if (strcmp(format, "x12") != 0 && strcmp(format, "fhir") != 0)
        return settle_error_set(q->error, SETTLE_ERR_INVALID, "remit: expected x12 or fhir");
    if (strcmp(format, "x12") == 0 && (!q->options || !q->options->payer_tax_id[0]))
        return settle_error_set(q->error, SETTLE_ERR_MISSING,
                                "remit: this node has no payer tax id, which an 835 needs "
                                "(TRN03); ask for fhir");
    ledger_payment_t payment;
    int rc = s_payment(q, args[0], &payment);
    q->remit = rc == SETTLE_OK ? remit_new() : NULL;
    if (rc == SETTLE_OK && !q->remit)
        rc = settle_error_set(q->error, SETTLE_ERR_NOMEM, "out of memory answering a query");
    uint32_t time_hhmm = 0;
    if (rc == SETTLE_OK)
        rc = s_remit_header(q, &payment, &time_hhmm);
    if (rc == SETTLE_OK)
        rc = s_remit_claims(q, &payment);
    char *text = NULL;
    /* Control numbers from the payment's entry: the same on every node. */
    uint32_t control = (uint32_t)((payment.entry_index - 1) % 999999999u) + 1;
    if (rc == SETTLE_OK)
        rc = remit_write_format(q->remit, format, control, q->remit->payment_date, time_hhmm, &text,
                                q->error);
    if (rc == SETTLE_OK) {
        settle_free(q->text);
        q->text = text;
        q->length = strlen(text);
        q->capacity = q->length + 1;
    }
    remit_destroy(&q->remit);
    return rc;
}

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

typedef int (*s_verb_fn)(s_query_t *q, char args[][NODE_QUERY_ARG_SIZE], size_t count);

static const struct {
    const char *verb;
    size_t args_min, args_max;
    const char *usage;
    s_verb_fn run;
} s_verbs[] = {
    {"claim", 1, 2, "claim: expected CLAIM-ID [PAYER]", s_verb_claim},
    {"payment", 1, 1, "payment: expected PAYMENT-ID", s_verb_payment},
    {"remit", 2, 2, "remit: expected PAYMENT-ID x12|fhir", s_verb_remit},
    {"participant", 1, 2, "participant: expected ID, or npi NPI", s_verb_participant},
    {"accumulators", 2, 2, "accumulators: expected PAYER MEMBER", s_verb_accumulators},
};

#define S_VERB_COUNT (sizeof s_verbs / sizeof s_verbs[0])

static size_t s_verb_index(const char *verb)
{
    size_t i = 0;
    while (i < S_VERB_COUNT && strcmp(s_verbs[i].verb, verb) != 0)
        i++;
    return i;
}

bool node_query_knows(const char *verb)
{
    return verb && s_verb_index(verb) < S_VERB_COUNT;
}

/* Copies the arguments, each 1..NODE_QUERY_ARG_SIZE-1 printable
 * characters without spaces, into NUL-terminated texts. */
static int s_arguments(size_t verb, const node_query_arg_t *args, size_t count,
                       char texts[][NODE_QUERY_ARG_SIZE], settle_error_t *error)
{
    if (count < s_verbs[verb].args_min || count > s_verbs[verb].args_max)
        return settle_error_set(error, SETTLE_ERR_INVALID, "%s", s_verbs[verb].usage);
    for (size_t i = 0; i < count; i++) {
        bool good = args[i].size > 0 && args[i].size < NODE_QUERY_ARG_SIZE;
        for (size_t b = 0; good && b < args[i].size; b++)
            good = args[i].data[b] > ' ' && args[i].data[b] <= '~';
        if (!good)
            return settle_error_set(error, SETTLE_ERR_INVALID,
                                    "%s (argument %zu: 1 to %d printable characters)",
                                    s_verbs[verb].usage, i + 1, NODE_QUERY_ARG_SIZE - 1);
        memcpy(texts[i], args[i].data, args[i].size);
        texts[i][args[i].size] = '\0';
    }
    return SETTLE_OK;
}

static void s_query_free(s_query_t *q)
{
    settle_free(q->text);
    interp_decision_destroy(&q->decision);
    settle_free(q->changes);
    claim_destroy(&q->claim);
}

int node_query(fsm_t *fsm, const node_query_options_t *options, const char *verb,
               const node_query_arg_t *args, size_t arg_count, char **text_out, size_t *size_out,
               settle_error_t *error)
{
    settle_error_t problem;
    settle_error_clear(&problem);
    size_t index = verb ? s_verb_index(verb) : S_VERB_COUNT;
    char texts[NODE_QUERY_ARGS_MAX][NODE_QUERY_ARG_SIZE];
    int rc = index < S_VERB_COUNT ? SETTLE_OK
                                  : settle_error_set(&problem, SETTLE_ERR_INVALID,
                                                     "unknown verb \"%s\"", verb ? verb : "");
    if (rc == SETTLE_OK && (!fsm || (!args && arg_count)))
        rc = settle_error_set(&problem, SETTLE_ERR_INVALID, "node_query: bad argument");
    if (rc == SETTLE_OK)
        rc = s_arguments(index, args, arg_count, texts, &problem);
    s_query_t q = {.ledger = fsm ? fsm_ledger(fsm) : NULL, .options = options, .error = &problem};
    if (rc == SETTLE_OK) {
        q.decision = interp_decision_new();
        q.changes = settle_malloc(sizeof *q.changes);
        q.claim = claim_new();
        rc = q.decision && q.changes && q.claim && s_grow(&q, 1) == SETTLE_OK
                 ? SETTLE_OK
                 : settle_error_set(&problem, SETTLE_ERR_NOMEM, "out of memory answering a query");
    }
    if (rc == SETTLE_OK) {
        q.text[0] = '\0';
        rc = s_verbs[index].run(&q, texts, arg_count);
    }
    if (rc == SETTLE_OK) {
        *text_out = q.text;
        if (size_out)
            *size_out = q.length;
        q.text = NULL;
    } else if (error) {
        *error = problem;
        error->code = (settle_err_t)rc;
    }
    s_query_free(&q);
    return rc;
}

int node_query_message(fsm_t *fsm, const node_query_options_t *options, const char *verb,
                       zmsg_t *args, char **text_out, size_t *size_out, settle_error_t *error)
{
    node_query_arg_t frames[NODE_QUERY_ARGS_MAX];
    size_t count = args ? zmsg_size(args) : 0;
    if (count > NODE_QUERY_ARGS_MAX)
        return settle_error_set(error, SETTLE_ERR_INVALID, "%s: too many arguments (%zu)",
                                verb ? verb : "", count);
    zframe_t *frame = args ? zmsg_first(args) : NULL;
    for (size_t i = 0; i < count && frame; i++, frame = zmsg_next(args)) {
        frames[i].data = zframe_data(frame);
        frames[i].size = zframe_size(frame);
    }
    return node_query(fsm, options, verb, frames, count, text_out, size_out, error);
}
