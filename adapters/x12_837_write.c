/*
 * x12_837_write.c - the X12 837P/837I writer: canonical claims to an
 * interchange the 837 reader reads back into the same claims
 * (settle/x12_837_write.h has the field map).
 *
 * A claim is checked whole before any of it is written, so a refused claim
 * leaves no trace; a run of claims of one kind and one creation date
 * (BHT04) shares one GS/ST, and consecutive claims of one billing provider
 * share its HL 20.
 */
#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/money.h"
#include "settle/x12_837_write.h"
#include "x12_837_reader.h"

#define S_ID_SIZE 16 /* ISA06 / ISA08: fifteen characters */

struct x12_837_writer_s {
    x12_out_t out;
    uint32_t control_number;
    char date[9], time[5], sender[S_ID_SIZE], receiver[S_ID_SIZE], usage;
    uint32_t groups;
    int32_t date_days;                /* date as a day number: BHT04 of claims without one */
    char kind;                        /* of the open transaction set; 0 when none */
    int32_t created;                  /* its BHT04 */
    uint32_t hl;                      /* the last HL id in the open set */
    uint32_t billing_hl;              /* the open HL 20 */
    char billing_npi[CLAIM_NPI_SIZE]; /* its NPI */
};

/* ------------------------------------------------------------------------
 * Options and the interchange
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

/* An interchange id: 1..15 printable characters, none a delimiter. */
static bool s_id_ok(const char *id)
{
    size_t length = strlen(id);
    for (size_t i = 0; i < length; i++)
        if (id[i] < 0x20 || id[i] > 0x7e)
            return false;
    return length >= 1 && length < S_ID_SIZE && !x12_out_has_delimiter(id);
}

static int s_check_options(const x12_837_write_options_t *options, settle_error_t *error)
{
    const char *sender = options->sender_id ? options->sender_id : "SETTLE";
    const char *receiver = options->receiver_id ? options->receiver_id : "SETTLE";
    if (options->control_number < 1 || options->control_number > 999999999)
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "control number %u is not within 1..999999999",
                                (unsigned)options->control_number);
    if (!s_digits(options->date, 8) || date_parse_ccyymmdd(options->date, 8, &(int32_t){0}))
        return settle_error_set(error, SETTLE_ERR_INVALID, "date is not a day CCYYMMDD");
    if (!s_digits(options->time, 4) || options->time[0] > '2' ||
        (options->time[0] == '2' && options->time[1] > '3') || options->time[2] > '5')
        return settle_error_set(error, SETTLE_ERR_INVALID, "time is not HHMM");
    if (!s_id_ok(sender) || !s_id_ok(receiver))
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "sender and receiver ids are 1 to 15 printable characters "
                                "without * : ^ ~");
    if (options->usage && options->usage != 'P' && options->usage != 'T')
        return settle_error_set(error, SETTLE_ERR_INVALID, "usage is P or T");
    return SETTLE_OK;
}

int x12_837_writer_new(const x12_837_write_options_t *options, x12_837_writer_t **writer_out,
                       settle_error_t *error)
{
    if (!options)
        return settle_error_set(error, SETTLE_ERR_INVALID, "no options");
    int rc = s_check_options(options, error);
    if (rc != SETTLE_OK)
        return rc;
    x12_837_writer_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return SETTLE_ERR_NOMEM;
    x12_out_init(&self->out);
    self->control_number = options->control_number;
    memcpy(self->date, options->date, 9);
    date_parse_ccyymmdd(self->date, 8, &self->date_days); /* checked by s_check_options */
    memcpy(self->time, options->time, 5);
    snprintf(self->sender, sizeof self->sender, "%s",
             options->sender_id ? options->sender_id : "SETTLE");
    snprintf(self->receiver, sizeof self->receiver, "%s",
             options->receiver_id ? options->receiver_id : "SETTLE");
    self->usage = options->usage ? options->usage : 'P';
    x12_out_segment(&self->out,
                    "ISA*00*          *00*          *ZZ*%-15s*ZZ*%-15s*%.6s*%s*^*00501*%09u*0*%c*:",
                    self->sender, self->receiver, self->date + 2, self->time,
                    (unsigned)self->control_number, self->usage);
    if (self->out.failed) {
        x12_837_writer_destroy(&self);
        return SETTLE_ERR_NOMEM;
    }
    *writer_out = self;
    return SETTLE_OK;
}

void x12_837_writer_destroy(x12_837_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    x12_out_free(&(*self_p)->out);
    settle_free(*self_p);
    *self_p = NULL;
}

/* Opens GS/ST (and the submitter and receiver names) for claims of kind
 * made on created (BHT04). */
static void s_open_set(x12_837_writer_t *self, char kind, int32_t created)
{
    char bht04[9] = "";
    date_format_ccyymmdd(created, bht04, sizeof bht04); /* checked by s_claim_problem */
    const char *version = kind == CLAIM_KIND_PROFESSIONAL ? "005010X222A1" : "005010X223A2";
    unsigned control = (unsigned)(self->control_number + self->groups);
    x12_out_segment(&self->out, "GS*HC*%s*%s*%s*%s*%u*X*%s", self->sender, self->receiver,
                    self->date, self->time, control, version);
    self->out.segments = 0;
    x12_out_segment(&self->out, "ST*837*%04u*%s", control, version);
    x12_out_segment(&self->out, "BHT*0019*00*%u*%s*%s*CH", control, bht04, self->time);
    x12_out_segment(&self->out, "NM1*41*2*%s*****46*%s", self->sender, self->sender);
    x12_out_segment(&self->out, "NM1*40*2*%s*****46*%s", self->receiver, self->receiver);
    self->kind = kind;
    self->created = created;
    self->hl = self->billing_hl = 0;
    self->billing_npi[0] = '\0';
    self->groups++;
}

static void s_close_set(x12_837_writer_t *self)
{
    if (!self->kind)
        return;
    unsigned control = (unsigned)(self->control_number + self->groups - 1);
    x12_out_segment(&self->out, "SE*%u*%04u", (unsigned)self->out.segments + 1, control);
    x12_out_segment(&self->out, "GE*1*%u", control);
    self->kind = 0;
}

int x12_837_writer_finish(x12_837_writer_t *self, char **text_out, size_t *length_out,
                          uint32_t *groups_out)
{
    s_close_set(self);
    x12_out_segment(&self->out, "IEA*%u*%09u", (unsigned)self->groups,
                    (unsigned)self->control_number);
    uint32_t groups = self->groups ? self->groups : 1;
    self->groups = 0;
    int rc = x12_out_take(&self->out, text_out, length_out);
    if (rc == SETTLE_OK && groups_out)
        *groups_out = groups;
    return rc;
}

/* ------------------------------------------------------------------------
 * What an 837 can carry: the checks before anything is written
 * ------------------------------------------------------------------------ */

/* A text field: no delimiter in it, which X12 cannot escape. */
static int s_check_text(const char *value, const char *field, settle_error_t *error)
{
    if (!x12_out_has_delimiter(value))
        return SETTLE_OK;
    return settle_error_set(error, SETTLE_ERR_INVALID,
                            "%s \"%.40s\" holds one of the X12 delimiters * : ^ ~", field, value);
}

static int s_check_line(const claim_t *claim, uint32_t index, settle_error_t *error)
{
    const claim_line_t *line = &claim->lines[index];
    char field[48];
    int rc = SETTLE_OK;
    snprintf(field, sizeof field, "lines[%u]", (unsigned)index);
    const char *texts[] = {
        line->procedure_code, line->modifiers[0], line->modifiers[1], line->modifiers[2],
        line->modifiers[3],   line->revenue_code, line->ndc,          line->place_of_service};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0] && rc == SETTLE_OK; i++)
        rc = s_check_text(texts[i], field, error);
    if (rc != SETTLE_OK)
        return rc;
    bool pointers = line->diagnosis_pointers[0] || line->diagnosis_pointers[1] ||
                    line->diagnosis_pointers[2] || line->diagnosis_pointers[3];
    const char *problem = NULL;
    if (claim->kind == CLAIM_KIND_PROFESSIONAL && line->revenue_code[0])
        problem = "has a revenue code, which an 837P line (SV1) cannot carry";
    else if (claim->kind == CLAIM_KIND_PROFESSIONAL && !line->procedure_code[0])
        problem = "has no procedure code, which an 837P line (SV101) requires";
    else if (claim->kind == CLAIM_KIND_INSTITUTIONAL && line->place_of_service[0])
        problem = "has a place of service, which an 837I line (SV2) cannot carry";
    else if (claim->kind == CLAIM_KIND_INSTITUTIONAL && pointers)
        problem = "has diagnosis pointers, which an 837I line (SV2) cannot carry";
    else if (line->units_milli <= 0)
        problem = "has no positive unit count";
    else if (line->service_from == DATE_NONE || line->service_to == DATE_NONE)
        problem = "has no date of service";
    if (problem)
        return settle_error_set(error, SETTLE_ERR_INVALID, "%s %s", field, problem);
    return SETTLE_OK;
}

/* The fields the claim level needs in an 837 of its kind. */
static const char *s_claim_problem(const claim_t *claim)
{
    if (claim->kind != CLAIM_KIND_PROFESSIONAL && claim->kind != CLAIM_KIND_INSTITUTIONAL)
        return "kind is neither professional nor institutional";
    if (!claim->claim_id[0] || !claim->payer_id[0] || !claim->member_id[0] ||
        !claim->billing_npi[0])
        return "claim id, payer id, member id and billing NPI are required";
    if (claim->frequency < 1 || claim->frequency > 9)
        return "frequency is not 1..9";
    char day[9];
    if (claim->created != DATE_NONE && date_format_ccyymmdd(claim->created, day, sizeof day))
        return "created is not a day of years 1 to 9999 (BHT04 CCYYMMDD)";
    if (claim->kind == CLAIM_KIND_PROFESSIONAL && !s_digits(claim->place_of_service, 2))
        return "place_of_service (CLM05-1) of two digits is required on an 837P";
    if (claim->kind == CLAIM_KIND_INSTITUTIONAL &&
        (strlen(claim->bill_type) != 3 ||
         !s_digits((char[3]){claim->bill_type[0], claim->bill_type[1], 0}, 2) ||
         claim->bill_type[2] != '0' + claim->frequency))
        return "bill_type must be two digits then the frequency (CLM05-1, CLM05-3) on an 837I";
    if (claim->diagnosis_count == 0 || claim->diagnosis_count > CLAIM_DIAGNOSES_MAX)
        return "at least one diagnosis (HI) is required";
    if (claim->patient_sex != CLAIM_SEX_FEMALE && claim->patient_sex != CLAIM_SEX_MALE &&
        claim->patient_sex != CLAIM_SEX_UNKNOWN)
        return "patient_sex is not F, M or U";
    if (claim->patient_birth_date == DATE_NONE && claim->patient_sex != CLAIM_SEX_UNKNOWN)
        return "patient_sex without a birth date cannot be written (DMG needs both)";
    if (claim->other_payer_count > CLAIM_OTHER_PAYERS_MAX)
        return "too many other payers";
    for (uint32_t i = 0; i < claim->other_payer_count; i++)
        if (!claim->other_payers[i].responsibility ||
            !strchr("PSTABCDEFGHU", claim->other_payers[i].responsibility))
            return "an other payer's responsibility is not P, S, T, A to H or U";
    return NULL;
}

/* True when SVD01 can name other payer p (1-based): it has an id, and no
 * other payer of the claim has the same one (the reader matches on it). */
static bool s_payer_named_alone(const claim_t *claim, uint8_t p)
{
    const char *id = claim->other_payers[p - 1].payer_id;
    for (uint8_t i = 0; i < claim->other_payer_count; i++)
        if (i != p - 1 && strcmp(claim->other_payers[i].payer_id, id) == 0)
            return false;
    return id[0] != '\0';
}

/*
 * What of record i an 837 cannot carry where it stands, or NULL.  The 837
 * fixes the order the reader gives back: the claim's records (loop 2320)
 * payer by payer, then each line's (loop 2430) line by line, and on a line
 * each payer's SVD (a line payment) before the adjustments (CAS) that
 * follow it.  *open_payer is the payer of the line's last payment.
 */
static const char *s_cob_problem(const claim_t *claim, uint32_t i, uint8_t *open_payer)
{
    const claim_cob_t *cob = &claim->cob[i], *before = i ? &claim->cob[i - 1] : NULL;
    if (!claim_cob_ok(cob, claim->line_count, claim->other_payer_count))
        return "is not a well-formed adjustment or line payment of this claim";
    if (before && (cob->line < before->line ||
                   (cob->line == 0 && before->line == 0 && cob->payer < before->payer)))
        return "is out of the order an 837 keeps (the claim's records payer by payer, "
               "then each line's, line by line)";
    if (!before || cob->line != before->line)
        *open_payer = 0;
    if (cob->kind == CLAIM_COB_LINE_PAID) {
        *open_payer = cob->payer;
        if (!s_payer_named_alone(claim, cob->payer))
            return "is a line payment by an other payer without an id of its own, which "
                   "SVD01 needs";
    } else if (cob->line && *open_payer != cob->payer) {
        return "is a line adjustment that does not follow a line payment (SVD) of its payer";
    }
    return NULL;
}

static int s_check_cob(const claim_t *claim, settle_error_t *error)
{
    uint8_t open_payer = 0;
    for (uint32_t i = 0; i < claim->cob_count; i++) {
        const char *problem = s_cob_problem(claim, i, &open_payer);
        if (problem)
            return settle_error_set(error, SETTLE_ERR_INVALID, "claim \"%.38s\": cob[%u] %s",
                                    claim->claim_id, (unsigned)i, problem);
    }
    return SETTLE_OK;
}

static int s_check_claim(const claim_t *claim, settle_error_t *error)
{
    const char *problem = s_claim_problem(claim);
    if (problem)
        return settle_error_set(error, SETTLE_ERR_INVALID, "claim \"%.38s\": %s", claim->claim_id,
                                problem);
    const char *texts[] = {claim->claim_id,           claim->payer_id,
                           claim->billing_npi,        claim->rendering_npi,
                           claim->member_id,          claim->original_claim_number,
                           claim->prior_authorization};
    int rc = SETTLE_OK;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0] && rc == SETTLE_OK; i++)
        rc = s_check_text(texts[i], "claim field", error);
    const claim_patient_t *p = &claim->patient;
    const char *patient[][2] = {{p->last_name, "patient last_name"},
                                {p->first_name, "patient first_name"},
                                {p->middle_name, "patient middle_name"},
                                {p->address_1, "patient address_1"},
                                {p->address_2, "patient address_2"},
                                {p->city, "patient city"},
                                {p->state, "patient state"},
                                {p->postal_code, "patient postal_code"}};
    for (size_t i = 0; i < sizeof patient / sizeof patient[0] && rc == SETTLE_OK; i++)
        rc = s_check_text(patient[i][0], patient[i][1], error);
    for (uint32_t i = 0; i < claim->diagnosis_count && rc == SETTLE_OK; i++)
        rc = s_check_text(claim->diagnoses[i], "diagnosis", error);
    for (uint32_t i = 0; i < claim->other_payer_count && rc == SETTLE_OK; i++)
        rc = s_check_text(claim->other_payers[i].payer_id, "other payer id", error);
    for (uint32_t i = 0; i < claim->line_count && rc == SETTLE_OK; i++)
        rc = s_check_line(claim, i, error);
    return rc == SETTLE_OK ? s_check_cob(claim, error) : rc;
}

/* ------------------------------------------------------------------------
 * Writing a claim
 * ------------------------------------------------------------------------ */

/* D8 or RD8 with the date or range, as DTP02*DTP03. */
static void s_period(int32_t from, int32_t to, char *buffer, size_t size)
{
    char a[9] = "", b[9] = "";
    date_format_ccyymmdd(from, a, sizeof a);
    date_format_ccyymmdd(to, b, sizeof b);
    if (from == to)
        snprintf(buffer, size, "D8*%s", a);
    else
        snprintf(buffer, size, "RD8*%s-%s", a, b);
}

/* Units in thousandths as the shortest decimal: 1500 -> "1.5". */
static void s_units(int64_t milli, char *buffer, size_t size)
{
    int64_t whole = milli / CLAIM_UNITS_MILLI_PER_UNIT;
    int fraction = (int)(milli % CLAIM_UNITS_MILLI_PER_UNIT), digits = 3;
    while (fraction && fraction % 10 == 0) {
        fraction /= 10;
        digits--;
    }
    if (fraction)
        snprintf(buffer, size, "%lld.%0*d", (long long)whole, digits, fraction);
    else
        snprintf(buffer, size, "%lld", (long long)whole);
}

/* HC:code:mod1:...: the modifiers up to the last one given. */
static void s_procedure(const claim_line_t *line, char *buffer, size_t size)
{
    int last = -1;
    for (int i = 0; i < CLAIM_MODIFIERS_MAX; i++)
        if (line->modifiers[i][0])
            last = i;
    size_t used = (size_t)snprintf(buffer, size, "HC:%s", line->procedure_code);
    for (int i = 0; i <= last && used < size; i++)
        used += (size_t)snprintf(buffer + used, size - used, ":%s", line->modifiers[i]);
}

/* Appends "*value" for each of count elements, leaving out the empty ones
 * at the end, as X12 wants: N3*street, N4*city*state*zip, N4**IL. */
static void s_elements(char *segment, size_t size, const char *const *values, int count)
{
    int last = -1;
    for (int i = 0; i < count; i++)
        if (values[i][0])
            last = i;
    size_t used = strlen(segment);
    for (int i = 0; i <= last && used < size; i++)
        used += (size_t)snprintf(segment + used, size - used, "*%s", values[i]);
}

/* Loop 2010BA: NM1*IL with the patient's names and the member id, then N3
 * and N4 when the claim has an address.  SBR02 is 18 (self), so the
 * subscriber is the patient and the reader takes these back as the
 * patient's.  Empty elements are kept empty: an N4 without a city is
 * written as such rather than refused, since nothing is lost. */
static void s_write_subscriber(x12_out_t *out, const claim_t *claim)
{
    const claim_patient_t *p = &claim->patient;
    x12_out_segment(out, "NM1*IL*1*%s*%s*%s***MI*%s", p->last_name, p->first_name, p->middle_name,
                    claim->member_id);
    char segment[X12_OUT_SEGMENT_MAX];
    if (p->address_1[0] || p->address_2[0]) {
        const char *const street[] = {p->address_1, p->address_2};
        snprintf(segment, sizeof segment, "N3");
        s_elements(segment, sizeof segment, street, 2);
        x12_out_segment(out, "%s", segment);
    }
    if (p->city[0] || p->state[0] || p->postal_code[0]) {
        const char *const place[] = {p->city, p->state, p->postal_code};
        snprintf(segment, sizeof segment, "N4");
        s_elements(segment, sizeof segment, place, 3);
        x12_out_segment(out, "%s", segment);
    }
}

/* HL 20 (reused while the billing NPI stays the same), HL 22 and names. */
static void s_write_hierarchy(x12_837_writer_t *self, const claim_t *claim)
{
    x12_out_t *out = &self->out;
    if (!self->billing_hl || strcmp(self->billing_npi, claim->billing_npi) != 0) {
        self->billing_hl = ++self->hl;
        memcpy(self->billing_npi, claim->billing_npi, sizeof self->billing_npi);
        x12_out_segment(out, "HL*%u**20*1", (unsigned)self->billing_hl);
        x12_out_segment(out, "NM1*85*2******XX*%s", claim->billing_npi);
    }
    x12_out_segment(out, "HL*%u*%u*22*0", (unsigned)++self->hl, (unsigned)self->billing_hl);
    x12_out_segment(out, "SBR*P*18*******CI");
    s_write_subscriber(out, claim);
    char birth[9];
    if (claim->patient_birth_date != DATE_NONE &&
        date_format_ccyymmdd(claim->patient_birth_date, birth, sizeof birth) == SETTLE_OK)
        x12_out_segment(out, "DMG*D8*%s*%c", birth, claim->patient_sex);
    x12_out_segment(out, "NM1*PR*2******PI*%s", claim->payer_id);
}

/* HI segments: the principal first, twelve codes a segment. */
static void s_write_diagnoses(x12_out_t *out, const claim_t *claim)
{
    char segment[X12_OUT_SEGMENT_MAX];
    size_t used = 0;
    uint32_t in_segment = 0;
    for (uint32_t i = 0; i < claim->diagnosis_count; i++) {
        if (in_segment == 0)
            used = (size_t)snprintf(segment, sizeof segment, "HI");
        used += (size_t)snprintf(segment + used, sizeof segment - used, "*%s:%s",
                                 i == 0 ? "ABK" : "ABF", claim->diagnoses[i]);
        in_segment++;
        bool principal_alone = claim->kind == CLAIM_KIND_INSTITUTIONAL && i == 0;
        if (in_segment == 12 || principal_alone || i + 1 == claim->diagnosis_count) {
            x12_out_segment(out, "%s", segment);
            in_segment = 0;
        }
    }
}

/* The statement period of an 837I: the first and last day of its lines. */
static void s_write_statement(x12_out_t *out, const claim_t *claim)
{
    if (claim->line_count == 0)
        return;
    int32_t from = claim->lines[0].service_from, to = claim->lines[0].service_to;
    for (uint32_t i = 1; i < claim->line_count; i++) {
        from = claim->lines[i].service_from < from ? claim->lines[i].service_from : from;
        to = claim->lines[i].service_to > to ? claim->lines[i].service_to : to;
    }
    char a[9] = "", b[9] = "";
    date_format_ccyymmdd(from, a, sizeof a);
    date_format_ccyymmdd(to, b, sizeof b);
    x12_out_segment(out, "DTP*434*RD8*%s-%s", a, b);
}

/*
 * CAS segments for the adjustments from claim->cob[*at] on that are payer's
 * on line, moving *at past them.  Consecutive adjustments of one group
 * share a segment, six to a segment; a group that comes back after another
 * opens a new one, so that the reader gives back the records in their
 * order.  Quantities are left empty: the canonical claim keeps none.
 */
static void s_write_cas(x12_out_t *out, const claim_t *claim, uint32_t *at, uint8_t payer,
                        uint16_t line)
{
    char segment[X12_OUT_SEGMENT_MAX];
    size_t used = 0;
    uint32_t triples = 0;
    const char *group = "";
    for (; *at < claim->cob_count; (*at)++) {
        const claim_cob_t *cob = &claim->cob[*at];
        if (cob->kind != CLAIM_COB_ADJUSTMENT || cob->payer != payer || cob->line != line)
            break;
        if (triples == 6 || (triples && strcmp(group, cob->group) != 0)) {
            x12_out_segment(out, "%s", segment);
            triples = 0;
        }
        if (triples == 0) {
            used = (size_t)snprintf(segment, sizeof segment, "CAS*%s", cob->group);
            group = cob->group;
        }
        char amount[MONEY_TEXT_SIZE];
        money_format(cob->amount_cents, amount, sizeof amount);
        used += (size_t)snprintf(segment + used, sizeof segment - used, "%s*%s*%s",
                                 triples ? "*" : "", cob->reason, amount);
        triples++;
    }
    if (triples)
        x12_out_segment(out, "%s", segment);
}

/* CLM and the claim-level segments before the lines (loop 2300 to 2330);
 * *at moves past the claim's own other-payer records (line 0). */
static void s_write_claim_head(x12_out_t *out, const claim_t *claim, uint32_t *at)
{
    char total[MONEY_TEXT_SIZE];
    money_format(claim->total_charge_cents, total, sizeof total);
    if (claim->kind == CLAIM_KIND_PROFESSIONAL)
        x12_out_segment(out, "CLM*%s*%s***%s:B:%u*Y*A*Y*Y", claim->claim_id, total,
                        claim->place_of_service, (unsigned)claim->frequency);
    else
        x12_out_segment(out, "CLM*%s*%s***%.2s:A:%c**A*Y*Y", claim->claim_id, total,
                        claim->bill_type, claim->bill_type[2]);
    if (claim->kind == CLAIM_KIND_INSTITUTIONAL)
        s_write_statement(out, claim);
    if (claim->prior_authorization[0])
        x12_out_segment(out, "REF*G1*%s", claim->prior_authorization);
    if (claim->original_claim_number[0])
        x12_out_segment(out, "REF*F8*%s", claim->original_claim_number);
    s_write_diagnoses(out, claim);
    if (claim->rendering_npi[0])
        x12_out_segment(out, "NM1*82*1******XX*%s", claim->rendering_npi);
    for (uint32_t i = 0; i < claim->other_payer_count; i++) {
        const claim_other_payer_t *other = &claim->other_payers[i];
        char paid[MONEY_TEXT_SIZE];
        money_format(other->paid_cents, paid, sizeof paid);
        x12_out_segment(out, "SBR*%c*18*******CI", other->responsibility);
        s_write_cas(out, claim, at, (uint8_t)(i + 1), 0);
        x12_out_segment(out, "AMT*D*%s", paid);
        x12_out_segment(out, "OI***Y***Y");
        x12_out_segment(out, "NM1*IL*1******MI*%s", claim->member_id);
        if (other->payer_id[0])
            x12_out_segment(out, "NM1*PR*2******PI*%s", other->payer_id);
    }
}

/* Loop 2430 of line index for the records from claim->cob[*at] on that
 * are that line's (a line payment, SVD, then its adjustments, CAS), moving
 * *at past them.  SVD03 and SVD05 repeat the line's procedure and units,
 * SVD04 (837I) its revenue code. */
static void s_write_line_cob(x12_out_t *out, const claim_t *claim, uint32_t index,
                             const char *procedure, const char *units, uint32_t *at)
{
    const claim_line_t *line = &claim->lines[index];
    while (*at < claim->cob_count && claim->cob[*at].line == index + 1) {
        /* a line payment: s_cob_problem checked that one opens each line's records */
        const claim_cob_t *cob = &claim->cob[(*at)++];
        char paid[MONEY_TEXT_SIZE];
        money_format(cob->amount_cents, paid, sizeof paid);
        const char *id = claim->other_payers[cob->payer - 1].payer_id;
        if (claim->kind == CLAIM_KIND_PROFESSIONAL)
            x12_out_segment(out, "SVD*%s*%s*%s**%s", id, paid, procedure, units);
        else
            x12_out_segment(out, "SVD*%s*%s*%s*%s*%s", id, paid,
                            line->procedure_code[0] ? procedure : "", line->revenue_code, units);
        s_write_cas(out, claim, at, cob->payer, cob->line);
    }
}

/* LX, SV1 or SV2, DTP*472, LIN/CTP for a drug, then loop 2430. */
static void s_write_line(x12_out_t *out, const claim_t *claim, uint32_t index, uint32_t *at)
{
    const claim_line_t *line = &claim->lines[index];
    char charge[MONEY_TEXT_SIZE], units[32], procedure[64], period[32];
    money_format(line->charge_cents, charge, sizeof charge);
    s_units(line->units_milli, units, sizeof units);
    s_procedure(line, procedure, sizeof procedure);
    x12_out_segment(out, "LX*%u", (unsigned)index + 1);
    if (claim->kind == CLAIM_KIND_PROFESSIONAL) {
        char pointers[16] = "";
        int last = -1;
        for (int i = 0; i < CLAIM_POINTERS_MAX; i++)
            if (line->diagnosis_pointers[i])
                last = i;
        size_t used = 0;
        for (int i = 0; i <= last; i++) {
            unsigned value = line->diagnosis_pointers[i];
            used += (size_t)snprintf(pointers + used, sizeof pointers - used, "%s", i ? ":" : "");
            if (value)
                used += (size_t)snprintf(pointers + used, sizeof pointers - used, "%u", value);
        }
        x12_out_segment(out, "SV1*%s*%s*UN*%s*%s**%s", procedure, charge, units,
                        line->place_of_service, pointers);
    } else {
        x12_out_segment(out, "SV2*%s*%s*%s*UN*%s", line->revenue_code,
                        line->procedure_code[0] ? procedure : "", charge, units);
    }
    s_period(line->service_from, line->service_to, period, sizeof period);
    x12_out_segment(out, "DTP*472*%s", period);
    if (line->ndc[0]) {
        x12_out_segment(out, "LIN**N4*%s", line->ndc);
        x12_out_segment(out, "CTP****%s*UN", units);
    }
    s_write_line_cob(out, claim, index, procedure, units, at);
}

int x12_837_writer_add(x12_837_writer_t *self, const claim_t *claim, settle_error_t *error)
{
    if (self->out.failed)
        return SETTLE_ERR_NOMEM;
    int rc = s_check_claim(claim, error);
    if (rc != SETTLE_OK)
        return rc;
    int32_t created = claim->created != DATE_NONE ? claim->created : self->date_days;
    if (self->kind != claim->kind || self->created != created) {
        if ((uint64_t)self->control_number + self->groups > 999999999)
            return settle_error_set(error, SETTLE_ERR_RANGE,
                                    "the control numbers would pass 999999999");
        s_close_set(self);
        s_open_set(self, claim->kind, created);
    }
    uint32_t at = 0; /* the next other-payer record to write */
    s_write_hierarchy(self, claim);
    s_write_claim_head(&self->out, claim, &at);
    for (uint32_t i = 0; i < claim->line_count; i++)
        s_write_line(&self->out, claim, i, &at);
    return self->out.failed ? SETTLE_ERR_NOMEM : SETTLE_OK;
}
