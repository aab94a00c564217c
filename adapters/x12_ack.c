/*
 * x12_ack.c - acknowledgments for an 837 file: the collector fed by the
 * 837 reader, and the 999, 277CA and JSON writers (settle/x12_ack.h says
 * which rules decide what is accepted).
 *
 * The collector keeps one small record per envelope, per claim and per
 * problem, in file order, in arrays that grow by doubling.  A transaction
 * set's problems are contiguous (the reader reports them while the set is
 * open), so each set keeps the range of its own.
 */
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/money.h"
#include "settle/x12_ack.h"
#include "x12_837_reader.h"

#define S_NONE UINT32_MAX

typedef struct {
    char id[CLAIM_ID_SIZE];
    bool accepted;        /* delivered by the reader */
    uint32_t transaction; /* index, S_NONE outside one */
    uint32_t problem;     /* its rejection, S_NONE when delivered */
    int64_t charge_cents;
    char billing_npi[CLAIM_NPI_SIZE];
    char member_id[CLAIM_MEMBER_ID_SIZE];
    int32_t from, to;
} s_claim_t;

typedef struct {
    x12_837_problem_t problem;
    uint32_t group, transaction; /* S_NONE when outside */
    settle_error_t error;
} s_problem_t;

typedef struct {
    char st01[4], st02[10], st03[13];
    uint32_t envelope_problem; /* the first envelope error in it, S_NONE when none */
    uint32_t first_problem, problem_count;
    uint32_t rejected_claims;
} s_transaction_t;

typedef struct {
    char gs01[3], gs02[16], gs03[16], gs06[10], gs08[13], ge01[10];
    uint32_t first_transaction, transaction_count;
    bool envelope_problem;
} s_group_t;

struct x12_ack_s {
    char file[SETTLE_ERROR_FILE_SIZE];
    bool has_interchange;
    char isa05[3], isa06[16], isa07[3], isa08[16], isa15[2];
    char payer_id[CLAIM_PAYER_ID_SIZE];
    uint32_t group, transaction; /* open now, S_NONE when none */
    s_claim_t *claims;
    uint32_t claim_count, claim_capacity;
    s_problem_t *problems;
    uint32_t problem_count, problem_capacity;
    s_transaction_t *transactions;
    uint32_t transaction_count, transaction_capacity;
    s_group_t *groups;
    uint32_t group_count, group_capacity;
};

/* ------------------------------------------------------------------------
 * The collector
 * ------------------------------------------------------------------------ */

x12_ack_t *x12_ack_new(const char *file)
{
    x12_ack_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->file, sizeof self->file, "%s", file ? file : "");
    self->group = self->transaction = S_NONE;
    return self;
}

void x12_ack_destroy(x12_ack_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    x12_ack_t *self = *self_p;
    settle_free(self->groups);
    settle_free(self->transactions);
    settle_free(self->problems);
    settle_free(self->claims);
    settle_free(self);
    *self_p = NULL;
}

/* Makes room for one more element in *array; false when out of memory. */
static bool s_grow(void **array, uint32_t *capacity, uint32_t count, size_t size)
{
    if (count < *capacity)
        return true;
    if (count >= UINT32_MAX / 2)
        return false;
    uint32_t grown = *capacity ? *capacity * 2 : 16;
    void *larger = settle_realloc(*array, (size_t)grown * size);
    if (!larger)
        return false;
    *array = larger;
    *capacity = grown;
    return true;
}

#define S_PUSH(self, name)                                                                         \
    s_grow((void **)&(self)->name##s, &(self)->name##_capacity, (self)->name##_count,              \
           sizeof *(self)->name##s)

/* Copies an element of a received segment into a field for an echo. */
static void s_copy(char *field, size_t size, const x12_segment_t *segment, uint32_t position)
{
    x12_span_t span = x12_element(segment, position);
    x12_out_clean(field, size, span.text, span.length);
}

static int s_on_group(x12_ack_t *self, const x12_segment_t *segment)
{
    if (!S_PUSH(self, group))
        return SETTLE_ERR_NOMEM;
    s_group_t *group = &self->groups[self->group_count];
    memset(group, 0, sizeof *group);
    s_copy(group->gs01, sizeof group->gs01, segment, 1);
    s_copy(group->gs02, sizeof group->gs02, segment, 2);
    s_copy(group->gs03, sizeof group->gs03, segment, 3);
    s_copy(group->gs06, sizeof group->gs06, segment, 6);
    s_copy(group->gs08, sizeof group->gs08, segment, 8);
    group->first_transaction = self->transaction_count;
    self->group = self->group_count++;
    self->transaction = S_NONE;
    return SETTLE_OK;
}

static int s_on_transaction(x12_ack_t *self, const x12_segment_t *segment)
{
    if (self->group == S_NONE)
        return SETTLE_OK; /* the reader has said why: ST outside a group */
    if (!S_PUSH(self, transaction))
        return SETTLE_ERR_NOMEM;
    s_transaction_t *transaction = &self->transactions[self->transaction_count];
    memset(transaction, 0, sizeof *transaction);
    s_copy(transaction->st01, sizeof transaction->st01, segment, 1);
    s_copy(transaction->st02, sizeof transaction->st02, segment, 2);
    s_copy(transaction->st03, sizeof transaction->st03, segment, 3);
    transaction->envelope_problem = S_NONE;
    transaction->first_problem = self->problem_count;
    self->groups[self->group].transaction_count++;
    self->transaction = self->transaction_count++;
    return SETTLE_OK;
}

int x12_ack_on_envelope(const x12_segment_t *segment, uint32_t segment_number, void *context)
{
    x12_ack_t *self = context;
    const char *id = segment->id;
    (void)segment_number;
    if (strcmp(id, "ISA") == 0) {
        if (!self->has_interchange) {
            s_copy(self->isa05, sizeof self->isa05, segment, 5);
            s_copy(self->isa06, sizeof self->isa06, segment, 6);
            s_copy(self->isa07, sizeof self->isa07, segment, 7);
            s_copy(self->isa08, sizeof self->isa08, segment, 8);
            s_copy(self->isa15, sizeof self->isa15, segment, 15);
            self->has_interchange = true;
        }
        self->group = self->transaction = S_NONE;
    } else if (strcmp(id, "GS") == 0) {
        return s_on_group(self, segment);
    } else if (strcmp(id, "ST") == 0) {
        return s_on_transaction(self, segment);
    } else if (strcmp(id, "SE") == 0) {
        self->transaction = S_NONE;
    } else if (strcmp(id, "GE") == 0) {
        if (self->group != S_NONE)
            s_copy(self->groups[self->group].ge01, sizeof self->groups[0].ge01, segment, 1);
        self->group = self->transaction = S_NONE;
    } else if (strcmp(id, "IEA") == 0) {
        self->group = self->transaction = S_NONE;
    }
    return SETTLE_OK;
}

/* The service dates of a claim: the first day and the last of its lines. */
static void s_claim_dates(const claim_t *claim, int32_t *from_out, int32_t *to_out)
{
    int32_t from = DATE_NONE, to = DATE_NONE;
    for (uint32_t i = 0; i < claim->line_count; i++) {
        const claim_line_t *line = &claim->lines[i];
        if (line->service_from != DATE_NONE && (from == DATE_NONE || line->service_from < from))
            from = line->service_from;
        if (line->service_to != DATE_NONE && (to == DATE_NONE || line->service_to > to))
            to = line->service_to;
    }
    *from_out = from;
    *to_out = to;
}

/* Appends a claim record, accepted or not, in the open transaction. */
static s_claim_t *s_add_claim(x12_ack_t *self, const char *id, bool accepted)
{
    if (!S_PUSH(self, claim))
        return NULL;
    s_claim_t *entry = &self->claims[self->claim_count++];
    memset(entry, 0, sizeof *entry);
    snprintf(entry->id, sizeof entry->id, "%s", id);
    entry->accepted = accepted;
    entry->transaction = self->transaction;
    entry->problem = S_NONE;
    entry->from = entry->to = DATE_NONE;
    return entry;
}

int x12_ack_on_claim(const claim_t *claim, void *context)
{
    x12_ack_t *self = context;
    s_claim_t *entry = s_add_claim(self, claim->claim_id, true);
    if (!entry)
        return SETTLE_ERR_NOMEM;
    entry->charge_cents = claim->total_charge_cents;
    memcpy(entry->billing_npi, claim->billing_npi, sizeof entry->billing_npi);
    memcpy(entry->member_id, claim->member_id, sizeof entry->member_id);
    s_claim_dates(claim, &entry->from, &entry->to);
    if (!self->payer_id[0])
        memcpy(self->payer_id, claim->payer_id, sizeof self->payer_id);
    return SETTLE_OK;
}

int x12_ack_on_problem(x12_837_problem_t problem, const char *claim_id, const settle_error_t *error,
                       void *context)
{
    x12_ack_t *self = context;
    if (!S_PUSH(self, problem))
        return SETTLE_ERR_NOMEM;
    uint32_t index = self->problem_count;
    s_problem_t *entry = &self->problems[index];
    entry->problem = problem;
    entry->group = self->group;
    entry->transaction = self->transaction;
    entry->error = *error;
    if (problem == X12_837_CLAIM_REJECTED) {
        s_claim_t *claim = s_add_claim(self, claim_id ? claim_id : "", false);
        if (!claim)
            return SETTLE_ERR_NOMEM;
        claim->problem = index;
    }
    self->problem_count++;
    if (self->transaction != S_NONE) {
        s_transaction_t *transaction = &self->transactions[self->transaction];
        transaction->problem_count++;
        if (problem == X12_837_CLAIM_REJECTED)
            transaction->rejected_claims++;
        else if (transaction->envelope_problem == S_NONE)
            transaction->envelope_problem = index;
    } else if (self->group != S_NONE && problem == X12_837_ENVELOPE_ERROR) {
        self->groups[self->group].envelope_problem = true;
    }
    return SETTLE_OK;
}

/* The reader's callbacks: collect, then pass on to the caller's. */
typedef struct {
    x12_ack_t *self;
    const x12_837_callbacks_t *callbacks;
    void *context;
} s_relay_t;

static int s_relay_claim(const claim_t *claim, void *context)
{
    s_relay_t *relay = context;
    int rc = x12_ack_on_claim(claim, relay->self);
    if (rc == SETTLE_OK && relay->callbacks && relay->callbacks->claim)
        rc = relay->callbacks->claim(claim, relay->context);
    return rc;
}

static int s_relay_problem(x12_837_problem_t problem, const char *claim_id,
                           const settle_error_t *error, void *context)
{
    s_relay_t *relay = context;
    int rc = x12_ack_on_problem(problem, claim_id, error, relay->self);
    if (rc == SETTLE_OK && relay->callbacks && relay->callbacks->problem)
        rc = relay->callbacks->problem(problem, claim_id, error, relay->context);
    return rc;
}

static int s_relay_envelope(const x12_segment_t *segment, uint32_t segment_number, void *context)
{
    s_relay_t *relay = context;
    return x12_ack_on_envelope(segment, segment_number, relay->self);
}

int x12_ack_read_837(x12_ack_t *self, const char *text, size_t length,
                     const x12_837_callbacks_t *callbacks, void *context, bool skip_validation,
                     x12_837_stats_t *stats_out)
{
    s_relay_t relay = {self, callbacks, context};
    x12_837_callbacks_t relayed = {s_relay_claim, s_relay_problem};
    x12_837_options_t options = {.skip_validation = skip_validation, .envelope = s_relay_envelope};
    self->group = self->transaction = S_NONE;
    return x12_837_read(text, length, self->file, &relayed, &relay, &options, stats_out);
}

/* True when the claim survives both the reader and its transaction set. */
static bool s_accepted(const x12_ack_t *self, const s_claim_t *claim)
{
    return claim->accepted && (claim->transaction == S_NONE ||
                               self->transactions[claim->transaction].envelope_problem == S_NONE);
}

/* Why a claim was not accepted: its own error or its transaction's. */
static const settle_error_t *s_reason(const x12_ack_t *self, const s_claim_t *claim)
{
    if (claim->problem != S_NONE)
        return &self->problems[claim->problem].error;
    return &self->problems[self->transactions[claim->transaction].envelope_problem].error;
}

uint32_t x12_ack_accepted_count(const x12_ack_t *self)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < self->claim_count; i++)
        count += s_accepted(self, &self->claims[i]);
    return count;
}

uint32_t x12_ack_rejected_count(const x12_ack_t *self)
{
    return self->claim_count - x12_ack_accepted_count(self);
}

/* ------------------------------------------------------------------------
 * Error codes: settle's error record to the X12 syntax error codes
 * ------------------------------------------------------------------------ */

static bool s_is(const settle_error_t *error, const char *segment_id, uint32_t element)
{
    return strcmp(error->segment_id, segment_id) == 0 && error->element == element;
}

/*
 * IK502 for a transaction set's envelope error, or NULL when the error is
 * a segment's inside the set (then "5", one or more segments in error,
 * with an IK3 for it).
 */
static const char *s_ik5_code(const settle_error_t *error)
{
    if (s_is(error, "SE", 1))
        return "4"; /* number of included segments does not match actual count */
    if (s_is(error, "SE", 2))
        return "3"; /* control number in header and trailer do not match */
    if (s_is(error, "ST", 1))
        return error->code == SETTLE_ERR_VERSION ? "1" : "6";
    if (s_is(error, "ST", 2))
        return "7"; /* missing or invalid transaction set control number */
    if (s_is(error, "ST", 3))
        return "I6"; /* implementation convention not supported */
    if ((error->code == SETTLE_ERR_MISSING && error->element == 0 &&
         (s_is(error, "ST", 0) || s_is(error, "GE", 0) || s_is(error, "IEA", 0) ||
          s_is(error, "ISA", 0))) ||
        error->code == SETTLE_ERR_TRUNCATED)
        return "2"; /* transaction set trailer missing */
    return NULL;
}

/* IK304, the segment syntax error code. */
static const char *s_ik3_code(const settle_error_t *error)
{
    if (error->element > 0 && error->element <= X12_ELEMENTS_MAX)
        return "8"; /* segment has data element errors */
    if (error->code == SETTLE_ERR_TOO_MANY && error->element > X12_ELEMENTS_MAX)
        return "8";
    if (error->segment_id[0] == '\0')
        return "1"; /* unrecognized segment id */
    if (error->code == SETTLE_ERR_MISSING)
        return "3"; /* required segment missing */
    if (error->code == SETTLE_ERR_TOO_MANY)
        return "5"; /* segment exceeds maximum use */
    if (strstr(error->message, "out of order"))
        return "7"; /* segment not in proper sequence */
    return "2";     /* unexpected segment */
}

/* IK403, the data element syntax error code. */
static const char *s_ik4_code(const settle_error_t *error)
{
    bool date = s_is(error, "DTP", 3) || s_is(error, "DMG", 2);
    bool amount = s_is(error, "CLM", 2) || s_is(error, "SV1", 2) || s_is(error, "SV2", 3) ||
                  s_is(error, "AMT", 2);
    switch (error->code) {
    case SETTLE_ERR_MISSING:
        return "1"; /* mandatory data element missing */
    case SETTLE_ERR_TOO_LONG:
        return "5"; /* data element too long */
    case SETTLE_ERR_TOO_MANY:
        return error->element > X12_ELEMENTS_MAX ? "3" : error->component ? "13" : "12";
    case SETTLE_ERR_INVALID:
        return s_is(error, "CLM", 2) ? "I12" : "6"; /* the sum rule; a bad character */
    default:
        break;
    }
    if (date)
        return "8"; /* invalid date */
    if (amount)
        return "6"; /* invalid character in data element */
    return "7";     /* invalid code value */
}

/* AK905, the functional group syntax error code, or NULL when none fits. */
static const char *s_ak9_code(const settle_error_t *error)
{
    if (s_is(error, "GS", 6))
        return "6"; /* group control number violates syntax */
    if (s_is(error, "GS", 8))
        return "2"; /* functional group version not supported */
    if (s_is(error, "GE", 1))
        return "5"; /* number of included transaction sets does not match */
    if (s_is(error, "GE", 2))
        return "4"; /* control numbers in header and trailer do not agree */
    if (error->code == SETTLE_ERR_MISSING || error->code == SETTLE_ERR_TRUNCATED)
        return "3"; /* functional group trailer missing */
    return NULL;
}

/* STC01: category and status code of a rejected claim (277CA). */
static void s_stc_rejected(const settle_error_t *error, char *stc, size_t size)
{
    const char *status = "21"; /* missing or invalid information */
    if (s_is(error, "CLM", 2))
        status = error->code == SETTLE_ERR_INVALID ? "400" : "178"; /* out of balance; charges */
    else if (s_is(error, "NM1", 8) || s_is(error, "NM1", 9))
        status = "562"; /* entity's national provider identifier */
    else if (strcmp(error->segment_id, "DTP") == 0)
        status = "187"; /* date(s) of service */
    else if (s_is(error, "DMG", 2))
        status = "158"; /* entity's date of birth */
    else if (strcmp(error->segment_id, "HI") == 0)
        status = "255"; /* diagnosis code */
    else if (s_is(error, "SV1", 1) || s_is(error, "SV2", 2))
        status = "454"; /* procedure code for services rendered */
    else if (s_is(error, "SV1", 2) || s_is(error, "SV2", 3))
        status = "178"; /* submitted charges */
    snprintf(stc, size, "%s:%s", error->element ? "A7" : "A3", status);
}

/* ------------------------------------------------------------------------
 * The envelope every acknowledgment goes out in
 * ------------------------------------------------------------------------ */

static bool s_digits(const char *text, size_t length)
{
    if (!text || strlen(text) != length)
        return false;
    for (size_t i = 0; i < length; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

static bool s_stamp_ok(const x12_ack_stamp_t *stamp)
{
    return stamp && stamp->control_number >= 1 && stamp->control_number <= 999999999 &&
           s_digits(stamp->date, 8) && s_digits(stamp->time, 4);
}

/* ISA and GS, from us (the receiver of what was read) back to its sender. */
static void s_open(x12_out_t *out, const x12_ack_t *self, const x12_ack_stamp_t *stamp,
                   const char *functional_id, const char *version)
{
    const char *our_qualifier = self->has_interchange ? self->isa07 : "ZZ";
    const char *our_id = self->has_interchange ? self->isa08 : "SETTLE";
    const char *their_qualifier = self->has_interchange ? self->isa05 : "ZZ";
    const char *their_id = self->has_interchange ? self->isa06 : "UNKNOWN";
    const char *usage = self->has_interchange && self->isa15[0] == 'T' ? "T" : "P";
    x12_out_segment(
        out,
        "ISA*00*          *00*          *%-2.2s*%-15.15s*%-2.2s*%-15.15s*%.6s*%s*^*00501*"
        "%09u*0*%s*:",
        our_qualifier, our_id, their_qualifier, their_id, stamp->date + 2, stamp->time,
        (unsigned)stamp->control_number, usage);
    const char *our_code = self->group_count ? self->groups[0].gs03 : our_id;
    const char *their_code = self->group_count ? self->groups[0].gs02 : their_id;
    x12_out_segment(out, "GS*%s*%s*%s*%s*%s*%u*X*%s", functional_id, our_code, their_code,
                    stamp->date, stamp->time, (unsigned)stamp->control_number, version);
}

static void s_close(x12_out_t *out, const x12_ack_stamp_t *stamp, uint32_t transactions)
{
    x12_out_segment(out, "GE*%u*%u", (unsigned)transactions, (unsigned)stamp->control_number);
    x12_out_segment(out, "IEA*1*%09u", (unsigned)stamp->control_number);
}

/* ------------------------------------------------------------------------
 * The 999
 * ------------------------------------------------------------------------ */

/* IK3 (with CTX for a claim, IK4 for an element) for one problem. */
static void s_write_ik3(x12_out_t *out, const s_problem_t *problem, const char *claim_id)
{
    const settle_error_t *error = &problem->error;
    char id[4];
    x12_out_clean(id, sizeof id, error->segment_id, strlen(error->segment_id));
    x12_out_segment(out, "IK3*%s*%u**%s", id[0] ? id : "UNK", (unsigned)error->segment,
                    s_ik3_code(error));
    char cleaned[CLAIM_ID_SIZE];
    x12_out_clean(cleaned, sizeof cleaned, claim_id, strlen(claim_id));
    if (problem->problem == X12_837_CLAIM_REJECTED && cleaned[0])
        x12_out_segment(out, "CTX*CLM01:%s", cleaned);
    if (error->element == 0 || error->element > X12_ELEMENTS_MAX)
        return;
    if (error->component)
        x12_out_segment(out, "IK4*%u:%u**%s", (unsigned)error->element, (unsigned)error->component,
                        s_ik4_code(error));
    else
        x12_out_segment(out, "IK4*%u**%s", (unsigned)error->element, s_ik4_code(error));
}

/* The claim id a problem rejected, "" for an envelope error. */
static const char *s_problem_claim_id(const x12_ack_t *self, uint32_t index)
{
    for (uint32_t i = 0; i < self->claim_count; i++)
        if (self->claims[i].problem == index)
            return self->claims[i].id;
    return "";
}

/* Adds code to the list of at most five IK502..IK506 / AK905..AK909 codes. */
static void s_add_code(const char *codes[5], uint32_t *count, const char *code)
{
    for (uint32_t i = 0; i < *count; i++)
        if (strcmp(codes[i], code) == 0)
            return;
    if (*count < 5)
        codes[(*count)++] = code;
}

static void s_write_codes(x12_out_t *out, const char *head, const char *const codes[5],
                          uint32_t count)
{
    char line[64];
    size_t used = (size_t)snprintf(line, sizeof line, "%s", head);
    for (uint32_t i = 0; i < count && used < sizeof line; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "*%s", codes[i]);
    x12_out_segment(out, "%s", line);
}

/* AK2 .. IK5 for one transaction set; true when it is accepted (A or E). */
static bool s_write_ak2(x12_out_t *out, const x12_ack_t *self, const s_transaction_t *transaction)
{
    if (transaction->st03[0])
        x12_out_segment(out, "AK2*%s*%s*%s", transaction->st01, transaction->st02,
                        transaction->st03);
    else
        x12_out_segment(out, "AK2*%s*%s", transaction->st01, transaction->st02);
    const char *codes[5];
    uint32_t count = 0;
    for (uint32_t i = 0; i < transaction->problem_count; i++) {
        uint32_t index = transaction->first_problem + i;
        const s_problem_t *problem = &self->problems[index];
        const char *code =
            problem->problem == X12_837_ENVELOPE_ERROR ? s_ik5_code(&problem->error) : NULL;
        if (code) {
            s_add_code(codes, &count, code);
            continue;
        }
        s_add_code(codes, &count, "5");
        s_write_ik3(out, problem, s_problem_claim_id(self, index));
    }
    bool rejected = transaction->envelope_problem != S_NONE;
    char head[8];
    snprintf(head, sizeof head, "IK5*%s", rejected ? "R" : count ? "E" : "A");
    s_write_codes(out, head, codes, count);
    return !rejected;
}

/* One 999 transaction set for one functional group read. */
static void s_write_999_set(x12_out_t *out, const x12_ack_t *self, uint32_t index)
{
    const s_group_t *group = &self->groups[index];
    out->segments = 0;
    x12_out_segment(out, "ST*999*%04u*005010X231A1", (unsigned)index + 1);
    x12_out_segment(out, "AK1*%s*%s*%s", group->gs01, group->gs06, group->gs08);
    uint32_t accepted = 0, with_errors = 0;
    for (uint32_t t = 0; t < group->transaction_count; t++) {
        const s_transaction_t *transaction = &self->transactions[group->first_transaction + t];
        if (s_write_ak2(out, self, transaction)) {
            accepted++;
            with_errors += transaction->problem_count > 0;
        }
    }
    const char *codes[5];
    uint32_t count = 0;
    for (uint32_t i = 0; i < self->problem_count && group->envelope_problem; i++) {
        const s_problem_t *problem = &self->problems[i];
        const char *code = s_ak9_code(&problem->error);
        if (problem->group == index && problem->transaction == S_NONE && code)
            s_add_code(codes, &count, code);
    }
    uint32_t received = group->transaction_count;
    const char *status = group->envelope_problem || accepted == 0 ? "R"
                         : accepted < received                    ? "P"
                         : with_errors                            ? "E"
                                                                  : "A";
    unsigned stated = received;
    if (s_digits(group->ge01, strlen(group->ge01)) && strlen(group->ge01) < 10)
        sscanf(group->ge01, "%u", &stated);
    char head[64];
    snprintf(head, sizeof head, "AK9*%s*%u*%u*%u", status, stated, (unsigned)received,
             (unsigned)accepted);
    s_write_codes(out, head, codes, count);
    x12_out_segment(out, "SE*%u*%04u", (unsigned)out->segments + 1, (unsigned)index + 1);
}

int x12_ack_write_999(const x12_ack_t *self, const x12_ack_stamp_t *stamp, char **text_out,
                      size_t *length_out)
{
    if (!s_stamp_ok(stamp))
        return SETTLE_ERR_INVALID;
    x12_out_t out;
    x12_out_init(&out);
    s_open(&out, self, stamp, "FA", "005010X231A1");
    for (uint32_t g = 0; g < self->group_count; g++)
        s_write_999_set(&out, self, g);
    s_close(&out, stamp, self->group_count);
    return x12_out_take(&out, text_out, length_out);
}

/* ------------------------------------------------------------------------
 * The 277CA
 * ------------------------------------------------------------------------ */

/* True when the claim is in a transaction set the 999 accepts. */
static bool s_in_277(const x12_ack_t *self, const s_claim_t *claim)
{
    return claim->transaction != S_NONE &&
           self->transactions[claim->transaction].envelope_problem == S_NONE;
}

/* The dates of service as DTP*472 wants them: D8 or RD8. */
static void s_write_service_dates(x12_out_t *out, const s_claim_t *claim)
{
    char from[9], to[9];
    if (claim->from == DATE_NONE || date_format_ccyymmdd(claim->from, from, sizeof from) ||
        date_format_ccyymmdd(claim->to, to, sizeof to))
        return;
    if (claim->from == claim->to)
        x12_out_segment(out, "DTP*472*D8*%s", from);
    else
        x12_out_segment(out, "DTP*472*RD8*%s-%s", from, to);
}

/* HL 19 and HL PT for one claim, numbered from hl. */
static void s_write_277_claim(x12_out_t *out, const x12_ack_t *self, const s_claim_t *claim,
                              uint32_t hl, const char *date)
{
    char id[CLAIM_ID_SIZE], charge[MONEY_TEXT_SIZE];
    x12_out_clean(id, sizeof id, claim->id, strlen(claim->id));
    money_format(claim->charge_cents, charge, sizeof charge);
    x12_out_segment(out, "HL*%u*2*19*1", (unsigned)hl);
    if (claim->billing_npi[0])
        x12_out_segment(out, "NM1*85*2******XX*%s", claim->billing_npi);
    else
        x12_out_segment(out, "NM1*85*2");
    x12_out_segment(out, "HL*%u*%u*PT", (unsigned)hl + 1, (unsigned)hl);
    char member[CLAIM_MEMBER_ID_SIZE];
    x12_out_clean(member, sizeof member, claim->member_id, strlen(claim->member_id));
    if (member[0])
        x12_out_segment(out, "NM1*QC*1*****MI*%s", member);
    else
        x12_out_segment(out, "NM1*QC*1");
    x12_out_segment(out, "TRN*2*%s", id[0] ? id : "UNKNOWN");
    if (s_accepted(self, claim)) {
        x12_out_segment(out, "STC*A2:20*%s*WQ*%s", date, charge);
        if (id[0])
            x12_out_segment(out, "REF*1K*%s", id);
        s_write_service_dates(out, claim);
        return;
    }
    const settle_error_t *error = s_reason(self, claim);
    char stc[16], message[SETTLE_ERROR_MESSAGE_SIZE];
    s_stc_rejected(error, stc, sizeof stc);
    x12_out_clean(message, sizeof message, error->message, strlen(error->message));
    x12_out_segment(out, "STC*%s*%s*U*%s********%s", stc, date, charge, message);
}

/* HL 20 (payer) and HL 21 (submitter, with the totals). */
static void s_write_277_head(x12_out_t *out, const x12_ack_t *self, const x12_ack_stamp_t *stamp,
                             bool has_claims)
{
    uint32_t accepted = 0, rejected = 0;
    int64_t accepted_cents = 0, rejected_cents = 0;
    for (uint32_t i = 0; i < self->claim_count; i++) {
        const s_claim_t *claim = &self->claims[i];
        if (!s_in_277(self, claim))
            continue;
        bool ok = s_accepted(self, claim);
        *(ok ? &accepted : &rejected) += 1;
        int64_t *sum = ok ? &accepted_cents : &rejected_cents;
        if (money_add(*sum, claim->charge_cents, sum) != SETTLE_OK)
            out->failed = true;
    }
    char payer[CLAIM_PAYER_ID_SIZE], total[MONEY_TEXT_SIZE], yes[MONEY_TEXT_SIZE],
        no[MONEY_TEXT_SIZE];
    x12_out_clean(payer, sizeof payer, self->payer_id, strlen(self->payer_id));
    x12_out_segment(out, "HL*1**20*1");
    x12_out_segment(out, "NM1*PR*2******PI*%s", payer[0] ? payer : "UNKNOWN");
    x12_out_segment(out, "TRN*1*%u", (unsigned)stamp->control_number);
    x12_out_segment(out, "DTP*050*D8*%s", stamp->date);
    x12_out_segment(out, "DTP*009*D8*%s", stamp->date);
    x12_out_segment(out, "HL*2*1*21*%d", has_claims ? 1 : 0);
    const char *submitter = self->group_count ? self->groups[0].gs02 : "UNKNOWN";
    x12_out_segment(out, "NM1*41*2******46*%s", submitter[0] ? submitter : "UNKNOWN");
    x12_out_segment(out, "TRN*2*%s",
                    self->group_count && self->groups[0].gs06[0] ? self->groups[0].gs06 : "0");
    money_format(accepted_cents + rejected_cents, total, sizeof total);
    money_format(accepted_cents, yes, sizeof yes);
    money_format(rejected_cents, no, sizeof no);
    x12_out_segment(out, "STC*A1:20*%s*WQ*%s", stamp->date, total);
    if (accepted)
        x12_out_segment(out, "QTY*90*%u", (unsigned)accepted);
    if (rejected)
        x12_out_segment(out, "QTY*AA*%u", (unsigned)rejected);
    if (accepted)
        x12_out_segment(out, "AMT*YU*%s", yes);
    if (rejected)
        x12_out_segment(out, "AMT*YY*%s", no);
}

int x12_ack_write_277(const x12_ack_t *self, const x12_ack_stamp_t *stamp, char **text_out,
                      size_t *length_out)
{
    if (!s_stamp_ok(stamp))
        return SETTLE_ERR_INVALID;
    x12_out_t out;
    x12_out_init(&out);
    s_open(&out, self, stamp, "HN", "005010X214");
    out.segments = 0;
    x12_out_segment(&out, "ST*277*0001*005010X214");
    x12_out_segment(&out, "BHT*0085*08*%u*%s*%s*TH", (unsigned)stamp->control_number, stamp->date,
                    stamp->time);
    bool has_claims = false;
    for (uint32_t i = 0; i < self->claim_count && !has_claims; i++)
        has_claims = s_in_277(self, &self->claims[i]);
    s_write_277_head(&out, self, stamp, has_claims);
    uint32_t hl = 3;
    for (uint32_t i = 0; i < self->claim_count; i++) {
        if (!s_in_277(self, &self->claims[i]))
            continue;
        s_write_277_claim(&out, self, &self->claims[i], hl, stamp->date);
        hl += 2;
    }
    x12_out_segment(&out, "SE*%u*0001", (unsigned)out.segments + 1);
    s_close(&out, stamp, 1);
    return x12_out_take(&out, text_out, length_out);
}

/* ------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------ */

/* Sets key to value (a new reference, NULL when out of memory) on object. */
static void s_set(json_t *object, const char *key, json_t *value, bool *ok)
{
    if (!value || json_object_set_new(object, key, value) != 0)
        *ok = false;
}

/* A JSON string of text; bytes that are not UTF-8 (an error record may
 * quote raw input) become '?' rather than failing the whole document. */
static json_t *s_json_string(const char *text)
{
    json_t *string = json_string(text);
    if (string)
        return string;
    char clean[SETTLE_ERROR_FILE_SIZE + SETTLE_ERROR_MESSAGE_SIZE];
    size_t n = 0;
    for (; text[n] && n + 1 < sizeof clean; n++)
        clean[n] = text[n] >= 0x20 && text[n] <= 0x7e ? text[n] : '?';
    clean[n] = '\0';
    return json_string(clean);
}

/* {"claim_id"?, "segment", "segment_id", "element", "message", "expected"?} */
static json_t *s_error_json(const char *claim_id, const settle_error_t *error)
{
    json_t *object = json_object();
    bool ok = object != NULL;
    if (ok && claim_id)
        s_set(object, "claim_id", s_json_string(claim_id), &ok);
    if (ok) {
        s_set(object, "segment", json_integer(error->segment), &ok);
        s_set(object, "segment_id", s_json_string(error->segment_id), &ok);
        s_set(object, "element", json_integer(error->element), &ok);
        s_set(object, "message", s_json_string(error->message), &ok);
    }
    if (ok && error->expected[0])
        s_set(object, "expected", s_json_string(error->expected), &ok);
    if (!ok)
        json_decref(object);
    return ok ? object : NULL;
}

static json_t *s_to_json(const x12_ack_t *self)
{
    json_t *root = json_object(), *accepted = json_array(), *rejected = json_array(),
           *envelope = json_array();
    bool ok = root && accepted && rejected && envelope;
    for (uint32_t i = 0; ok && i < self->claim_count; i++) {
        const s_claim_t *claim = &self->claims[i];
        if (s_accepted(self, claim))
            ok = json_array_append_new(accepted, s_json_string(claim->id)) == 0;
        else
            ok = json_array_append_new(rejected, s_error_json(claim->id, s_reason(self, claim))) ==
                 0;
    }
    for (uint32_t i = 0; ok && i < self->problem_count; i++)
        if (self->problems[i].problem == X12_837_ENVELOPE_ERROR)
            ok = json_array_append_new(envelope, s_error_json(NULL, &self->problems[i].error)) == 0;
    if (ok) {
        s_set(root, "file", s_json_string(self->file), &ok);
        s_set(root, "accepted", accepted, &ok);
        s_set(root, "rejected", rejected, &ok);
        s_set(root, "envelope_errors", envelope, &ok);
        accepted = rejected = envelope = NULL; /* owned by root now, set or not */
    }
    json_decref(accepted);
    json_decref(rejected);
    json_decref(envelope);
    if (!ok)
        json_decref(root);
    return ok ? root : NULL;
}

int x12_ack_write_json(const x12_ack_t *self, char **text_out, size_t *length_out)
{
    json_t *root = s_to_json(self);
    if (!root)
        return SETTLE_ERR_NOMEM;
    char *dumped = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(root);
    if (!dumped)
        return SETTLE_ERR_NOMEM;
    size_t length = strlen(dumped);
    char *text = settle_malloc(length + 2);
    if (text) {
        memcpy(text, dumped, length);
        text[length] = '\n';
        text[length + 1] = '\0';
    }
    free(dumped);
    if (!text)
        return SETTLE_ERR_NOMEM;
    *text_out = text;
    if (length_out)
        *length_out = length + 1;
    return SETTLE_OK;
}
