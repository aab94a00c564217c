/*
 * claim_codec.c - the canonical binary encoding of a claim (version 3).
 *
 * One function per direction walks the fields in the one order below; the
 * writer and the reader share the same value checks so that everything the
 * writer accepts the reader accepts, and the other way round.
 *
 *   "SCLM" u16:version(1)
 *   u8:kind u8:frequency u8:patient_sex
 *   str:claim_id str:payer_id str:billing_npi str:rendering_npi str:member_id
 *   i32:patient_birth_date i32:created
 *   str:last_name str:first_name str:middle_name str:address_1 str:address_2
 *   str:city str:state str:postal_code u16:phi_size phi_size x u8:phi
 *   str:original_claim_number str:prior_authorization str:place_of_service str:bill_type
 *   i64:total_charge_cents
 *   u8:diagnosis_count  { str:code }
 *   u8:other_payer_count { str:payer_id u8:responsibility i64:paid_cents }
 *   u16:line_count { str:procedure_code 4 x str:modifier str:revenue_code str:ndc
 *                    str:place_of_service i64:units_milli i64:charge_cents
 *                    i32:service_from i32:service_to 4 x u8:diagnosis_pointer
 *                    i16:patient_age }
 *   u16:cob_count { u8:kind u8:payer u16:line str:group str:reason i64:amount_cents }
 *
 * str is u16 big-endian length + bytes (no NUL); integers are big-endian,
 * signed ones in two's complement.
 *
 * Version 3 added the patient block, the sealed identifiers (phi.h) and
 * each line's patient age; a version 2 encoding is refused, not read
 * without them, so that one claim keeps one encoding.
 */
#include "settle/claim_codec.h"

#include <string.h>

#include "settle/alloc.h"
#include "settle/hash.h"
#include "wire.h"

static const uint8_t s_magic[4] = {'S', 'C', 'L', 'M'};

/* The fewest bytes a line takes: nine empty texts and 30 bytes of numbers. */
#define CLAIM_CODEC_LINE_SIZE_MIN (9 * 2 + 8 + 8 + 4 + 4 + CLAIM_POINTERS_MAX + 2)

/* ------------------------------------------------------------------------
 * Checks shared by both directions
 * ------------------------------------------------------------------------ */

static bool s_kind_ok(char kind)
{
    return kind == CLAIM_KIND_PROFESSIONAL || kind == CLAIM_KIND_INSTITUTIONAL;
}

static bool s_sex_ok(char sex)
{
    return sex == CLAIM_SEX_FEMALE || sex == CLAIM_SEX_MALE || sex == CLAIM_SEX_UNKNOWN;
}

/* Whole years, or CLAIM_AGE_NONE. */
static bool s_age_ok(int16_t age)
{
    return age == CLAIM_AGE_NONE || (age >= 0 && age <= CLAIM_AGE_MAX);
}

static bool s_frequency_ok(uint8_t frequency)
{
    return frequency >= 1 && frequency <= 9;
}

/* A payer's responsibility: an upper-case letter, or none. */
static bool s_responsibility_ok(char responsibility)
{
    return responsibility == '\0' || (responsibility >= 'A' && responsibility <= 'Z');
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

#define PUT_TEXT(w, field) wire_put_text((w), (field), sizeof(field))

static void s_put_line(wire_writer_t *w, const claim_line_t *line)
{
    PUT_TEXT(w, line->procedure_code);
    for (int i = 0; i < CLAIM_MODIFIERS_MAX; i++)
        PUT_TEXT(w, line->modifiers[i]);
    PUT_TEXT(w, line->revenue_code);
    PUT_TEXT(w, line->ndc);
    PUT_TEXT(w, line->place_of_service);
    wire_put_uint(w, (uint64_t)line->units_milli, 8);
    wire_put_uint(w, (uint64_t)line->charge_cents, 8);
    wire_put_uint(w, (uint32_t)line->service_from, 4);
    wire_put_uint(w, (uint32_t)line->service_to, 4);
    wire_put(w, line->diagnosis_pointers, CLAIM_POINTERS_MAX);
    if (!s_age_ok(line->patient_age))
        w->ok = false;
    wire_put_uint(w, (uint16_t)line->patient_age, 2);
}

static void s_put_patient(wire_writer_t *w, const claim_t *c)
{
    const claim_patient_t *p = &c->patient;
    PUT_TEXT(w, p->last_name);
    PUT_TEXT(w, p->first_name);
    PUT_TEXT(w, p->middle_name);
    PUT_TEXT(w, p->address_1);
    PUT_TEXT(w, p->address_2);
    PUT_TEXT(w, p->city);
    PUT_TEXT(w, p->state);
    PUT_TEXT(w, p->postal_code);
    if (c->phi_size > CLAIM_PHI_SIZE_MAX)
        w->ok = false;
    wire_put_uint(w, c->phi_size, 2);
    wire_put(w, c->phi, c->phi_size <= CLAIM_PHI_SIZE_MAX ? c->phi_size : 0);
}

static void s_put_claim(wire_writer_t *w, const claim_t *c)
{
    if (!s_kind_ok(c->kind) || !s_sex_ok(c->patient_sex) || !s_frequency_ok(c->frequency) ||
        c->diagnosis_count > CLAIM_DIAGNOSES_MAX || c->other_payer_count > CLAIM_OTHER_PAYERS_MAX ||
        c->line_count > CLAIM_LINES_MAX || (c->line_count > 0 && !c->lines)) {
        w->ok = false;
        return;
    }
    wire_put(w, s_magic, sizeof s_magic);
    wire_put_uint(w, CLAIM_CODEC_VERSION, 2);
    uint8_t flags[3] = {(uint8_t)c->kind, c->frequency, (uint8_t)c->patient_sex};
    wire_put(w, flags, sizeof flags);
    PUT_TEXT(w, c->claim_id);
    PUT_TEXT(w, c->payer_id);
    PUT_TEXT(w, c->billing_npi);
    PUT_TEXT(w, c->rendering_npi);
    PUT_TEXT(w, c->member_id);
    wire_put_uint(w, (uint32_t)c->patient_birth_date, 4);
    wire_put_uint(w, (uint32_t)c->created, 4);
    s_put_patient(w, c);
    PUT_TEXT(w, c->original_claim_number);
    PUT_TEXT(w, c->prior_authorization);
    PUT_TEXT(w, c->place_of_service);
    PUT_TEXT(w, c->bill_type);
    wire_put_uint(w, (uint64_t)c->total_charge_cents, 8);
    wire_put_uint(w, c->diagnosis_count, 1);
    for (unsigned i = 0; i < c->diagnosis_count; i++)
        PUT_TEXT(w, c->diagnoses[i]);
    wire_put_uint(w, c->other_payer_count, 1);
    for (unsigned i = 0; i < c->other_payer_count; i++) {
        const claim_other_payer_t *payer = &c->other_payers[i];
        if (!s_responsibility_ok(payer->responsibility))
            w->ok = false;
        PUT_TEXT(w, payer->payer_id);
        wire_put_uint(w, (uint8_t)payer->responsibility, 1);
        wire_put_uint(w, (uint64_t)payer->paid_cents, 8);
    }
    wire_put_uint(w, c->line_count, 2);
    for (uint32_t i = 0; i < c->line_count; i++)
        s_put_line(w, &c->lines[i]);
    wire_put_uint(w, c->cob_count, 2);
    for (uint32_t i = 0; i < c->cob_count; i++) {
        const claim_cob_t *cob = &c->cob[i];
        if (!claim_cob_ok(cob, c->line_count, c->other_payer_count))
            w->ok = false;
        uint8_t head[4] = {cob->kind, cob->payer, (uint8_t)(cob->line >> 8), (uint8_t)cob->line};
        wire_put(w, head, sizeof head);
        PUT_TEXT(w, cob->group);
        PUT_TEXT(w, cob->reason);
        wire_put_uint(w, (uint64_t)cob->amount_cents, 8);
    }
}

size_t claim_encoded_size(const claim_t *claim)
{
    wire_writer_t measure = {.ok = true};
    s_put_claim(&measure, claim);
    return measure.used;
}

int claim_encode_into(const claim_t *claim, uint8_t *buffer, size_t size)
{
    wire_writer_t measure = {.ok = true};
    s_put_claim(&measure, claim);
    if (!measure.ok)
        return SETTLE_ERR_INVALID;
    if (measure.used > size)
        return SETTLE_ERR_TOO_LONG;
    wire_writer_t w = {.at = buffer, .ok = true};
    s_put_claim(&w, claim);
    return SETTLE_OK;
}

int claim_encode(const claim_t *claim, uint8_t **bytes_out, size_t *size_out)
{
    wire_writer_t measure = {.ok = true};
    s_put_claim(&measure, claim);
    if (!measure.ok)
        return SETTLE_ERR_INVALID;
    uint8_t *bytes = settle_malloc(measure.used);
    if (!bytes)
        return SETTLE_ERR_NOMEM;
    wire_writer_t w = {.at = bytes, .ok = true};
    s_put_claim(&w, claim);
    *bytes_out = bytes;
    *size_out = w.used;
    return SETTLE_OK;
}

int claim_hash(const claim_t *claim, uint8_t hash_out[CLAIM_HASH_SIZE])
{
    uint8_t *bytes;
    size_t size;
    int rc = claim_encode(claim, &bytes, &size);
    if (rc != SETTLE_OK)
        return rc;
    rc = hash_sha256(bytes, size, hash_out);
    settle_free(bytes);
    return rc;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

#define GET_TEXT(r, name, field) wire_get_text((r), (name), (field), sizeof(field))

static int32_t s_get_i32(wire_reader_t *r)
{
    return (int32_t)(uint32_t)wire_get_uint(r, 4);
}

static int64_t s_get_i64(wire_reader_t *r)
{
    return (int64_t)wire_get_uint(r, 8);
}

static void s_get_line(wire_reader_t *r, claim_line_t *line)
{
    GET_TEXT(r, "procedure_code", line->procedure_code);
    for (int i = 0; i < CLAIM_MODIFIERS_MAX; i++)
        GET_TEXT(r, "modifier", line->modifiers[i]);
    GET_TEXT(r, "revenue_code", line->revenue_code);
    GET_TEXT(r, "ndc", line->ndc);
    GET_TEXT(r, "line place_of_service", line->place_of_service);
    r->field = "line amounts and dates";
    line->units_milli = s_get_i64(r);
    line->charge_cents = s_get_i64(r);
    line->service_from = s_get_i32(r);
    line->service_to = s_get_i32(r);
    const uint8_t *pointers = wire_take(r, CLAIM_POINTERS_MAX);
    if (pointers)
        memcpy(line->diagnosis_pointers, pointers, CLAIM_POINTERS_MAX);
    r->field = "line patient_age";
    line->patient_age = (int16_t)(uint16_t)wire_get_uint(r, 2);
    if (r->rc == SETTLE_OK && !s_age_ok(line->patient_age))
        wire_fail(r, SETTLE_ERR_CORRUPT, "not a number of years (0 to 200, or -1)");
}

static void s_get_patient(wire_reader_t *r, claim_t *c)
{
    claim_patient_t *p = &c->patient;
    GET_TEXT(r, "patient last_name", p->last_name);
    GET_TEXT(r, "patient first_name", p->first_name);
    GET_TEXT(r, "patient middle_name", p->middle_name);
    GET_TEXT(r, "patient address_1", p->address_1);
    GET_TEXT(r, "patient address_2", p->address_2);
    GET_TEXT(r, "patient city", p->city);
    GET_TEXT(r, "patient state", p->state);
    GET_TEXT(r, "patient postal_code", p->postal_code);
    r->field = "phi";
    uint32_t size = (uint32_t)wire_get_uint(r, 2);
    if (r->rc == SETTLE_OK && size > CLAIM_PHI_SIZE_MAX) {
        wire_fail(r, SETTLE_ERR_CORRUPT, "sealed identifiers longer than a claim holds");
        return;
    }
    const uint8_t *phi = wire_take(r, size);
    if (phi) {
        memcpy(c->phi, phi, size);
        c->phi_size = (uint16_t)size;
    }
}

static void s_get_header(wire_reader_t *r, claim_t *c)
{
    r->field = "header";
    const uint8_t *magic = wire_take(r, sizeof s_magic);
    if (magic && memcmp(magic, s_magic, sizeof s_magic) != 0)
        wire_fail(r, SETTLE_ERR_CORRUPT, "not a claim encoding (no SCLM mark)");
    if (wire_get_uint(r, 2) != CLAIM_CODEC_VERSION)
        wire_fail(r, SETTLE_ERR_VERSION,
                  "version is not 3 (a version 2 encoding has no patient block)");
    r->field = "kind, frequency and sex";
    c->kind = (char)wire_get_uint(r, 1);
    c->frequency = (uint8_t)wire_get_uint(r, 1);
    c->patient_sex = (char)wire_get_uint(r, 1);
    if (!s_kind_ok(c->kind) || !s_frequency_ok(c->frequency) || !s_sex_ok(c->patient_sex))
        wire_fail(r, SETTLE_ERR_CORRUPT, "a value outside its codes");
    GET_TEXT(r, "claim_id", c->claim_id);
    GET_TEXT(r, "payer_id", c->payer_id);
    GET_TEXT(r, "billing_npi", c->billing_npi);
    GET_TEXT(r, "rendering_npi", c->rendering_npi);
    GET_TEXT(r, "member_id", c->member_id);
    r->field = "patient_birth_date";
    c->patient_birth_date = s_get_i32(r);
    r->field = "created";
    c->created = s_get_i32(r);
    s_get_patient(r, c);
    GET_TEXT(r, "original_claim_number", c->original_claim_number);
    GET_TEXT(r, "prior_authorization", c->prior_authorization);
    GET_TEXT(r, "place_of_service", c->place_of_service);
    GET_TEXT(r, "bill_type", c->bill_type);
    r->field = "total_charge_cents";
    c->total_charge_cents = s_get_i64(r);
}

static void s_get_lists(wire_reader_t *r, claim_t *c)
{
    r->field = "diagnosis_count";
    c->diagnosis_count = (uint8_t)wire_get_uint(r, 1);
    if (c->diagnosis_count > CLAIM_DIAGNOSES_MAX)
        wire_fail(r, SETTLE_ERR_CORRUPT, "more diagnoses than a claim holds");
    for (unsigned i = 0; r->rc == SETTLE_OK && i < c->diagnosis_count; i++)
        GET_TEXT(r, "diagnosis", c->diagnoses[i]);
    r->field = "other_payer_count";
    c->other_payer_count = (uint8_t)wire_get_uint(r, 1);
    if (c->other_payer_count > CLAIM_OTHER_PAYERS_MAX)
        wire_fail(r, SETTLE_ERR_CORRUPT, "more other payers than a claim holds");
    for (unsigned i = 0; r->rc == SETTLE_OK && i < c->other_payer_count; i++) {
        claim_other_payer_t *payer = &c->other_payers[i];
        GET_TEXT(r, "other payer_id", payer->payer_id);
        r->field = "other payer responsibility";
        payer->responsibility = (char)wire_get_uint(r, 1);
        if (!s_responsibility_ok(payer->responsibility))
            wire_fail(r, SETTLE_ERR_CORRUPT, "not a letter");
        payer->paid_cents = s_get_i64(r);
    }
}

static void s_get_lines(wire_reader_t *r, claim_t *c)
{
    r->field = "line_count";
    uint32_t count = (uint32_t)wire_get_uint(r, 2);
    if (r->rc != SETTLE_OK)
        return;
    if (count > CLAIM_LINES_MAX) {
        wire_fail(r, SETTLE_ERR_CORRUPT, "more lines than a claim holds");
        return;
    }
    /* A count the buffer cannot hold is refused before any memory is
     * reserved for it. */
    if (count > (r->size - r->at) / CLAIM_CODEC_LINE_SIZE_MIN) {
        wire_fail(r, SETTLE_ERR_TRUNCATED, "the buffer ends before the lines it counts");
        return;
    }
    int rc = claim_reserve_lines(c, count);
    if (rc != SETTLE_OK) {
        wire_fail(r, rc, "no memory for the lines");
        return;
    }
    for (uint32_t i = 0; r->rc == SETTLE_OK && i < count; i++) {
        claim_line_t *line;
        claim_add_line(c, &line); /* cannot fail: reserved above */
        s_get_line(r, line);
    }
}

/* The fewest bytes a record takes: four bytes of head, two empty texts and
 * the amount. */
#define CLAIM_CODEC_COB_SIZE_MIN (4 + 2 * 2 + 8)

static void s_get_cob(wire_reader_t *r, claim_t *c)
{
    r->field = "cob_count";
    uint32_t count = (uint32_t)wire_get_uint(r, 2);
    if (r->rc != SETTLE_OK)
        return;
    if (count > CLAIM_COB_MAX || count > (r->size - r->at) / CLAIM_CODEC_COB_SIZE_MIN) {
        wire_fail(r, count > CLAIM_COB_MAX ? SETTLE_ERR_CORRUPT : SETTLE_ERR_TRUNCATED,
                  "more records than the claim or the buffer holds");
        return;
    }
    int rc = claim_reserve_cob(c, count);
    if (rc != SETTLE_OK) {
        wire_fail(r, rc, "no memory for the records");
        return;
    }
    for (uint32_t i = 0; r->rc == SETTLE_OK && i < count; i++) {
        claim_cob_t *cob;
        claim_add_cob(c, &cob); /* cannot fail: reserved above */
        r->field = "cob";
        const uint8_t *head = wire_take(r, 4);
        if (!head)
            return;
        cob->kind = head[0];
        cob->payer = head[1];
        cob->line = (uint16_t)(head[2] << 8 | head[3]);
        GET_TEXT(r, "cob group", cob->group);
        GET_TEXT(r, "cob reason", cob->reason);
        r->field = "cob amount";
        cob->amount_cents = s_get_i64(r);
        if (r->rc == SETTLE_OK && !claim_cob_ok(cob, c->line_count, c->other_payer_count))
            wire_fail(r, SETTLE_ERR_CORRUPT, "not a well-formed record");
    }
}

int claim_decode_into(claim_t *claim, const uint8_t *bytes, size_t size, settle_error_t *error)
{
    wire_reader_t r = {bytes, bytes ? size : 0, 0, SETTLE_OK, "claim encoding", "header", error};
    claim_reset(claim);
    s_get_header(&r, claim);
    s_get_lists(&r, claim);
    s_get_lines(&r, claim);
    s_get_cob(&r, claim);
    if (r.rc == SETTLE_OK && r.at != r.size) {
        r.field = "end";
        wire_fail(&r, SETTLE_ERR_CORRUPT, "bytes after the last record");
    }
    if (r.rc != SETTLE_OK)
        claim_reset(claim);
    return r.rc;
}

int claim_decode(const uint8_t *bytes, size_t size, claim_t **claim_out, settle_error_t *error)
{
    claim_t *claim = claim_new();
    if (!claim)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "claim encoding: no memory for a claim");
    int rc = claim_decode_into(claim, bytes, size, error);
    if (rc != SETTLE_OK) {
        claim_destroy(&claim);
        return rc;
    }
    *claim_out = claim;
    return SETTLE_OK;
}
