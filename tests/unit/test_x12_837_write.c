/*
 * test_x12_837_write.c - the 837P/837I writer: every field of a fully
 * populated claim of each kind (other payers' adjudication and the
 * creation date included) survives canonical -> 837 -> canonical, checked
 * field by field; 837 -> canonical -> 837 -> canonical on the fixtures; the
 * exact text of a small claim and of its CAS and SVD segments; kinds and
 * creation dates in separate transactions with their own control numbers;
 * refusals that name the field; bad options; allocation failure.
 *
 * Fixtures are found from this file's own path (CMake compiles it by its
 * absolute path): REPO/tests/unit/test_x12_837_write.c -> REPO/fixtures/x12/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/x12.h"
#include "settle/x12_837_write.h"

#include "claim_sample.h"

#define KEPT_MAX          16
#define TEXT(field, text) assert_int_equal(CLAIM_SET_TEXT((field), (text), strlen(text)), SETTLE_OK)

static const x12_837_write_options_t s_options = {5,           "20260301", "0930",
                                                  "SUBMITTER", "RECEIVER", 'T'};

/* ------------------------------------------------------------------------
 * Helpers: claims kept from a read, and the read of a written text
 * ------------------------------------------------------------------------ */

typedef struct {
    claim_t *claims[KEPT_MAX];
    unsigned count;
    unsigned problems;
    settle_error_t first_problem;
} s_kept_t;

static claim_t *s_copy(const claim_t *claim)
{
    claim_t *copy = claim_new();
    assert_non_null(copy);
    assert_int_equal(claim_copy(copy, claim), SETTLE_OK);
    return copy;
}

static int s_keep(const claim_t *claim, void *context)
{
    s_kept_t *kept = context;
    assert_true(kept->count < KEPT_MAX);
    kept->claims[kept->count++] = s_copy(claim);
    return 0;
}

static int s_problem(x12_837_problem_t problem, const char *claim_id, const settle_error_t *error,
                     void *context)
{
    s_kept_t *kept = context;
    (void)problem, (void)claim_id;
    if (kept->problems++ == 0)
        kept->first_problem = *error;
    return 0;
}

static void s_read(const char *text, size_t length, bool skip_validation, s_kept_t *kept)
{
    x12_837_callbacks_t callbacks = {s_keep, s_problem};
    x12_837_options_t options = {.skip_validation = skip_validation};
    memset(kept, 0, sizeof *kept);
    assert_int_equal(x12_837_read(text, length, "in.837", &callbacks, kept, &options, NULL),
                     SETTLE_OK);
}

static void s_free_kept(s_kept_t *kept)
{
    for (unsigned i = 0; i < kept->count; i++)
        claim_destroy(&kept->claims[i]);
    kept->count = 0;
}

/* Writes claims with s_options; the caller frees the text. */
static char *s_write(claim_t *const *claims, unsigned count, size_t *length_out,
                     uint32_t *groups_out)
{
    x12_837_writer_t *writer = NULL;
    settle_error_t error;
    settle_error_clear(&error);
    assert_int_equal(x12_837_writer_new(&s_options, &writer, &error), SETTLE_OK);
    for (unsigned i = 0; i < count; i++)
        if (x12_837_writer_add(writer, claims[i], &error) != SETTLE_OK)
            fail_msg("claim %u refused: %s", i, error.message);
    char *text = NULL;
    assert_int_equal(x12_837_writer_finish(writer, &text, length_out, groups_out), SETTLE_OK);
    x12_837_writer_destroy(&writer);
    return text;
}

/* Every field, one assertion each, so a failure names the field. */
static void s_assert_same_line(const claim_line_t *a, const claim_line_t *b)
{
    assert_string_equal(a->procedure_code, b->procedure_code);
    for (int i = 0; i < CLAIM_MODIFIERS_MAX; i++)
        assert_string_equal(a->modifiers[i], b->modifiers[i]);
    assert_string_equal(a->revenue_code, b->revenue_code);
    assert_string_equal(a->ndc, b->ndc);
    assert_string_equal(a->place_of_service, b->place_of_service);
    assert_int_equal(a->units_milli, b->units_milli);
    assert_int_equal(a->charge_cents, b->charge_cents);
    assert_int_equal(a->service_from, b->service_from);
    assert_int_equal(a->service_to, b->service_to);
    for (int i = 0; i < CLAIM_POINTERS_MAX; i++)
        assert_int_equal(a->diagnosis_pointers[i], b->diagnosis_pointers[i]);
}

static void s_assert_same(const claim_t *a, const claim_t *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->frequency, b->frequency);
    assert_string_equal(a->claim_id, b->claim_id);
    assert_string_equal(a->payer_id, b->payer_id);
    assert_string_equal(a->billing_npi, b->billing_npi);
    assert_string_equal(a->rendering_npi, b->rendering_npi);
    assert_string_equal(a->member_id, b->member_id);
    assert_int_equal(a->patient_birth_date, b->patient_birth_date);
    assert_int_equal(a->patient_sex, b->patient_sex);
    assert_string_equal(a->original_claim_number, b->original_claim_number);
    assert_string_equal(a->prior_authorization, b->prior_authorization);
    assert_string_equal(a->place_of_service, b->place_of_service);
    assert_string_equal(a->bill_type, b->bill_type);
    assert_int_equal(a->total_charge_cents, b->total_charge_cents);
    assert_int_equal(a->diagnosis_count, b->diagnosis_count);
    for (int i = 0; i < a->diagnosis_count; i++)
        assert_string_equal(a->diagnoses[i], b->diagnoses[i]);
    assert_int_equal(a->other_payer_count, b->other_payer_count);
    for (int i = 0; i < a->other_payer_count; i++) {
        assert_string_equal(a->other_payers[i].payer_id, b->other_payers[i].payer_id);
        assert_int_equal(a->other_payers[i].responsibility, b->other_payers[i].responsibility);
        assert_int_equal(a->other_payers[i].paid_cents, b->other_payers[i].paid_cents);
    }
    assert_int_equal(a->line_count, b->line_count);
    for (uint32_t i = 0; i < a->line_count; i++)
        s_assert_same_line(&a->lines[i], &b->lines[i]);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->cob_count, b->cob_count);
    for (uint32_t i = 0; i < a->cob_count; i++) {
        assert_int_equal(a->cob[i].kind, b->cob[i].kind);
        assert_int_equal(a->cob[i].payer, b->cob[i].payer);
        assert_int_equal(a->cob[i].line, b->cob[i].line);
        assert_string_equal(a->cob[i].group, b->cob[i].group);
        assert_string_equal(a->cob[i].reason, b->cob[i].reason);
        assert_int_equal(a->cob[i].amount_cents, b->cob[i].amount_cents);
    }
    assert_true(claim_equal(a, b));
}

static int32_t s_day(int year, int month, int day)
{
    int32_t days;
    assert_int_equal(date_from_ymd(year, month, day, &days), SETTLE_OK);
    return days;
}

/* ------------------------------------------------------------------------
 * Fully populated claims
 * ------------------------------------------------------------------------ */

/* Appends one other-payer record; group and reason "" for a line payment. */
static void s_cob(claim_t *c, int kind, int payer, int line, const char *group, const char *reason,
                  int64_t amount_cents)
{
    claim_cob_t *cob;
    assert_int_equal(claim_add_cob(c, &cob), SETTLE_OK);
    cob->kind = (uint8_t)kind;
    cob->payer = (uint8_t)payer;
    cob->line = (uint16_t)line;
    TEXT(cob->group, group);
    TEXT(cob->reason, reason);
    cob->amount_cents = amount_cents;
}

#define S_ADJ  CLAIM_COB_ADJUSTMENT
#define S_PAID CLAIM_COB_LINE_PAID

/*
 * What the two other payers did, in the order an 837 keeps: at claim level
 * a group that comes back after another (CO, PR, CO) and eight adjustments
 * of one group (two CAS segments); on line 1 both payers, one with a
 * negative adjustment, one paying nothing; on line 2 a payment alone.
 */
static void s_fill_cob(claim_t *c)
{
    s_cob(c, S_ADJ, 1, 0, "CO", "45", 1000);
    s_cob(c, S_ADJ, 1, 0, "PR", "1", 500);
    s_cob(c, S_ADJ, 1, 0, "PR", "2", 250);
    s_cob(c, S_ADJ, 1, 0, "CO", "253", 30);
    const char *reasons[] = {"23", "94", "B13", "A1", "16", "97", "119", "W1"};
    for (int i = 0; i < 8; i++)
        s_cob(c, S_ADJ, 2, 0, "OA", reasons[i], 100 + i);
    s_cob(c, S_PAID, 1, 1, "", "", 150000);
    s_cob(c, S_ADJ, 1, 1, "CO", "45", 30000);
    s_cob(c, S_ADJ, 1, 1, "PR", "3", -2500);
    s_cob(c, S_PAID, 2, 1, "", "", 0);
    s_cob(c, S_ADJ, 2, 1, "PI", "B7", 5000);
    s_cob(c, S_PAID, 1, 2, "", "", 2000);
}

static void s_fill_common(claim_t *c, const char *id)
{
    c->frequency = CLAIM_FREQUENCY_REPLACEMENT;
    TEXT(c->claim_id, id);
    TEXT(c->payer_id, "ACMEHP");
    TEXT(c->billing_npi, "1234567893");
    TEXT(c->rendering_npi, "1245319599");
    TEXT(c->member_id, "ACM100234501");
    c->patient_birth_date = s_day(1968, 4, 12);
    c->patient_sex = CLAIM_SEX_FEMALE;
    TEXT(c->original_claim_number, "PAYER-ICN-7788");
    TEXT(c->prior_authorization, "PA-55190");
    c->other_payer_count = 2;
    TEXT(c->other_payers[0].payer_id, "MEDICARE-A");
    c->other_payers[0].responsibility = 'P';
    c->other_payers[0].paid_cents = 28764;
    TEXT(c->other_payers[1].payer_id, "SUPPLEMENT");
    c->other_payers[1].responsibility = 'T';
    c->other_payers[1].paid_cents = 0;
    c->created = s_day(2026, 10, 2);
}

/* An 837P claim with every field it can hold: 13 diagnoses (two HI
 * segments), four modifiers, a gap in the pointers, an NDC, a line place
 * of service, fractional units, a date range. */
static claim_t *s_full_professional(void)
{
    claim_t *c = claim_new();
    assert_non_null(c);
    c->kind = CLAIM_KIND_PROFESSIONAL;
    s_fill_common(c, "PCN-0001-ABCDEFGHIJKLMNOPQRSTUVWXYZ012"); /* 38 characters */
    TEXT(c->place_of_service, "11");
    const char *codes[] = {"S52521A", "E119", "I10",  "M545",  "R51",  "J069", "Z0000",
                           "E785",    "K219", "F329", "G4733", "N390", "R0602"};
    c->diagnosis_count = 13;
    for (int i = 0; i < 13; i++)
        TEXT(c->diagnoses[i], codes[i]);
    claim_line_t *line;
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    TEXT(line->procedure_code, "99284");
    TEXT(line->modifiers[0], "25");
    TEXT(line->modifiers[1], "59");
    TEXT(line->modifiers[2], "GP");
    TEXT(line->modifiers[3], "RT");
    TEXT(line->place_of_service, "22");
    TEXT(line->ndc, "00406052301");
    line->units_milli = 1500;
    line->charge_cents = 185000;
    line->service_from = s_day(2026, 9, 28);
    line->service_to = s_day(2026, 9, 30);
    line->diagnosis_pointers[0] = 1;
    line->diagnosis_pointers[2] = 3;
    line->diagnosis_pointers[3] = 12;
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    TEXT(line->procedure_code, "J1100");
    TEXT(line->modifiers[0], "JW");
    line->units_milli = 125;
    line->charge_cents = 3475;
    line->service_from = line->service_to = s_day(2026, 9, 29);
    line->diagnosis_pointers[0] = 2;
    c->total_charge_cents = 185000 + 3475;
    s_fill_cob(c);
    assert_int_equal(claim_validate(c, NULL), SETTLE_OK);
    return c;
}

/* An 837I claim with every field it can hold: bill type, 25 diagnoses
 * (principal alone, then three HI segments), a line with a procedure and
 * modifiers, one with only a revenue code and an NDC. */
static claim_t *s_full_institutional(void)
{
    claim_t *c = claim_new();
    assert_non_null(c);
    c->kind = CLAIM_KIND_INSTITUTIONAL;
    s_fill_common(c, "INST-77");
    c->patient_sex = CLAIM_SEX_MALE;
    TEXT(c->bill_type, "137");
    c->diagnosis_count = CLAIM_DIAGNOSES_MAX;
    for (int i = 0; i < CLAIM_DIAGNOSES_MAX; i++) {
        char code[8];
        snprintf(code, sizeof code, "A%02d%d", i, i % 10);
        TEXT(c->diagnoses[i], code);
    }
    claim_line_t *line;
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    TEXT(line->revenue_code, "0450");
    TEXT(line->procedure_code, "99284");
    TEXT(line->modifiers[0], "25");
    TEXT(line->modifiers[1], "GP");
    line->units_milli = 1000;
    line->charge_cents = 100050;
    line->service_from = line->service_to = s_day(2026, 1, 10);
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    TEXT(line->revenue_code, "0250");
    TEXT(line->ndc, "00071015523");
    line->units_milli = 3000;
    line->charge_cents = 20000;
    line->service_from = s_day(2026, 1, 11);
    line->service_to = s_day(2026, 1, 12);
    c->total_charge_cents = 120050;
    s_fill_cob(c); /* line 2 has only a revenue code: its SVD03 is empty */
    c->created = s_day(2025, 12, 31);
    assert_int_equal(claim_validate(c, NULL), SETTLE_OK);
    return c;
}

static void s_assert_round_trip(claim_t *claim)
{
    size_t length;
    char *text = s_write(&claim, 1, &length, NULL);
    s_kept_t kept;
    s_read(text, length, false, &kept);
    if (kept.problems)
        fail_msg("%s\nproblem: %s at %s%u", text, kept.first_problem.message,
                 kept.first_problem.segment_id, kept.first_problem.element);
    assert_int_equal(kept.count, 1);
    s_assert_same(claim, kept.claims[0]);
    /* and once more: the second 837 is the first, byte for byte */
    size_t again_length;
    char *again = s_write(kept.claims, 1, &again_length, NULL);
    assert_int_equal(again_length, length);
    assert_string_equal(again, text);
    settle_free(again);
    s_free_kept(&kept);
    settle_free(text);
}

static void test_x12_837_write_round_trips_every_field_of_a_professional_claim(void **state)
{
    (void)state;
    claim_t *claim = s_full_professional();
    s_assert_round_trip(claim);
    claim_destroy(&claim);
}

static void test_x12_837_write_round_trips_every_field_of_an_institutional_claim(void **state)
{
    (void)state;
    claim_t *claim = s_full_institutional();
    s_assert_round_trip(claim);
    claim_destroy(&claim);
}

static void test_x12_837_write_round_trips_sparse_claims(void **state)
{
    (void)state;
    claim_t *claim = s_full_professional();
    claim->frequency = CLAIM_FREQUENCY_ORIGINAL;
    claim->rendering_npi[0] = claim->original_claim_number[0] = claim->prior_authorization[0] = 0;
    claim->patient_birth_date = DATE_NONE;
    claim->patient_sex = CLAIM_SEX_UNKNOWN;
    claim->other_payer_count = 0;
    claim->cob_count = 0;
    claim->diagnosis_count = 1;
    memset(claim->lines[0].diagnosis_pointers, 0, CLAIM_POINTERS_MAX);
    claim->lines[1].diagnosis_pointers[0] = 1;
    s_assert_round_trip(claim);
    /* no creation date: BHT04 is required, so the writer's date stands in */
    claim->created = DATE_NONE;
    size_t length;
    char *text = s_write(&claim, 1, &length, NULL);
    assert_non_null(strstr(text, "BHT*0019*00*5*20260301*0930*CH~"));
    s_kept_t kept;
    s_read(text, length, false, &kept);
    assert_int_equal(kept.count, 1);
    assert_int_equal(kept.claims[0]->created, s_day(2026, 3, 1));
    claim->created = s_day(2026, 3, 1);
    s_assert_same(claim, kept.claims[0]);
    s_free_kept(&kept);
    settle_free(text);
    claim_destroy(&claim);
}

/* The sealed identifiers and the line ages have no place in an 837: the
 * writer leaves them out (x12_837_write.h), and the claim read back has
 * none.  Clears them in claim, which then must come back whole. */
static void s_assert_phi_and_ages_left_out(claim_t *claim)
{
    assert_true(claim->phi_size > 0 && claim->lines[0].patient_age != CLAIM_AGE_NONE);
    size_t length;
    char *text = s_write(&claim, 1, &length, NULL);
    s_kept_t kept;
    s_read(text, length, false, &kept);
    assert_int_equal(kept.count, 1);
    assert_int_equal(kept.claims[0]->phi_size, 0);
    for (uint32_t i = 0; i < kept.claims[0]->line_count; i++)
        assert_int_equal(kept.claims[0]->lines[i].patient_age, CLAIM_AGE_NONE);
    s_free_kept(&kept);
    settle_free(text);
    claim->phi_size = 0;
    memset(claim->phi, 0, sizeof claim->phi);
    for (uint32_t i = 0; i < claim->line_count; i++)
        claim->lines[i].patient_age = CLAIM_AGE_NONE;
}

/* The shared sample claim (tests/unit/claim_sample.h), as each kind: what
 * the kind cannot carry is taken out first, the rest (the patient's names
 * and address included) must come back. */
static void test_x12_837_write_round_trips_the_sample_claim_as_each_kind(void **state)
{
    (void)state;
    claim_t *claim = claim_new();
    assert_non_null(claim);
    assert_int_equal(sample_fill_claim(claim), SETTLE_OK);
    assert_true(claim->cob_count > 0 && claim->created != DATE_NONE);
    assert_true(claim->patient.address_2[0] && claim->patient.middle_name[0]);
    claim->place_of_service[0] = '\0'; /* institutional: CLM05-1 is the bill type */
    claim->bill_type[2] = (char)('0' + claim->frequency); /* CLM05-3 */
    claim->lines[0].place_of_service[0] = '\0';
    for (uint32_t i = 0; i < claim->line_count; i++)
        memset(claim->lines[i].diagnosis_pointers, 0, CLAIM_POINTERS_MAX);
    s_assert_phi_and_ages_left_out(claim);
    s_assert_round_trip(claim);

    claim_reset(claim);
    assert_int_equal(sample_fill_claim(claim), SETTLE_OK);
    claim->kind = CLAIM_KIND_PROFESSIONAL;
    claim->bill_type[0] = '\0';
    claim->lines[0].revenue_code[0] = claim->lines[1].revenue_code[0] = '\0';
    TEXT(claim->lines[1].procedure_code, "J1100");
    s_assert_phi_and_ages_left_out(claim);
    s_assert_round_trip(claim);
    claim_destroy(&claim);
}

/* 837 -> canonical -> 837 -> canonical on settle's own fixtures. */
static void test_x12_837_write_round_trips_the_fixtures(void **state)
{
    (void)state;
    const char *names[] = {"settle_837p_three_claims.txt", "settle_837i_full.txt",
                           "settle_837p_pipes_crlf.txt", "settle_837p_cob.txt"};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        char path[1024];
        const char *self = __FILE__;
        const char *tail = strstr(self, "tests/unit/test_x12_837_write.c");
        snprintf(path, sizeof path, "%.*sfixtures/x12/%s", tail ? (int)(tail - self) : 0, self,
                 names[n]);
        FILE *file = fopen(path, "rb");
        assert_non_null(file);
        char buffer[16384];
        size_t length = fread(buffer, 1, sizeof buffer, file);
        fclose(file);
        s_kept_t first, second;
        s_read(buffer, length, false, &first);
        assert_true(first.count > 0);
        size_t written_length;
        char *written = s_write(first.claims, first.count, &written_length, NULL);
        s_read(written, written_length, false, &second);
        assert_int_equal(second.problems, 0);
        assert_int_equal(second.count, first.count);
        for (unsigned i = 0; i < first.count; i++)
            s_assert_same(first.claims[i], second.claims[i]);
        s_free_kept(&first);
        s_free_kept(&second);
        settle_free(written);
    }
}

/* ------------------------------------------------------------------------
 * The text, envelopes and control numbers
 * ------------------------------------------------------------------------ */

static claim_t *s_small_claim(char kind, const char *id)
{
    claim_t *c = claim_new();
    assert_non_null(c);
    c->kind = kind;
    c->created = s_day(2026, 2, 27);
    TEXT(c->claim_id, id);
    TEXT(c->payer_id, "PAYER01");
    TEXT(c->billing_npi, "1234567893");
    TEXT(c->member_id, "MEM001");
    TEXT(c->diagnoses[0], "M545");
    c->diagnosis_count = 1;
    if (kind == CLAIM_KIND_PROFESSIONAL)
        TEXT(c->place_of_service, "11");
    else
        TEXT(c->bill_type, "131");
    claim_line_t *line;
    assert_int_equal(claim_add_line(c, &line), SETTLE_OK);
    if (kind == CLAIM_KIND_PROFESSIONAL) {
        TEXT(line->procedure_code, "99213");
        line->diagnosis_pointers[0] = 1;
    } else {
        TEXT(line->revenue_code, "0450");
    }
    line->units_milli = 1000;
    line->charge_cents = 10050;
    line->service_from = line->service_to = s_day(2026, 1, 5);
    c->total_charge_cents = 10050;
    return c;
}

static void test_x12_837_write_writes_the_expected_text(void **state)
{
    (void)state;
    claim_t *claim = s_small_claim(CLAIM_KIND_PROFESSIONAL, "PCN9");
    size_t length;
    uint32_t groups;
    char *text = s_write(&claim, 1, &length, &groups);
    const char *expected =
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260301*0930*^*00501*"
        "000000005*0*T*:~\n"
        "GS*HC*SUBMITTER*RECEIVER*20260301*0930*5*X*005010X222A1~\n"
        "ST*837*0005*005010X222A1~\n"
        "BHT*0019*00*5*20260227*0930*CH~\n"
        "NM1*41*2*SUBMITTER*****46*SUBMITTER~\n"
        "NM1*40*2*RECEIVER*****46*RECEIVER~\n"
        "HL*1**20*1~\n"
        "NM1*85*2******XX*1234567893~\n"
        "HL*2*1*22*0~\n"
        "SBR*P*18*******CI~\n"
        "NM1*IL*1******MI*MEM001~\n"
        "NM1*PR*2******PI*PAYER01~\n"
        "CLM*PCN9*100.50***11:B:1*Y*A*Y*Y~\n"
        "HI*ABK:M545~\n"
        "LX*1~\n"
        "SV1*HC:99213*100.50*UN*1***1~\n"
        "DTP*472*D8*20260105~\n"
        "SE*16*0005~\n"
        "GE*1*5~\n"
        "IEA*1*000000005~\n";
    if (strcmp(text, expected) != 0)
        fail_msg("got:\n%s", text);
    assert_int_equal(length, strlen(expected));
    assert_int_equal(groups, 1);
    settle_free(text);
    claim_destroy(&claim);
}

/* The patient's names go in NM1*IL 03..05 and the address in N3 and N4
 * right after it (loop 2010BA, the subscriber being the patient); empty
 * trailing elements are left off, and a claim without an address has no
 * N3 or N4. */
static void test_x12_837_write_puts_the_patient_in_the_subscriber_loop(void **state)
{
    (void)state;
    claim_t *claim = s_small_claim(CLAIM_KIND_PROFESSIONAL, "PCN9");
    TEXT(claim->patient.last_name, "ALVAREZ");
    TEXT(claim->patient.first_name, "MARIA");
    TEXT(claim->patient.address_1, "12 MAIN ST");
    TEXT(claim->patient.state, "IL");
    size_t length;
    char *text = s_write(&claim, 1, &length, NULL);
    assert_non_null(strstr(text, "SBR*P*18*******CI~\nNM1*IL*1*ALVAREZ*MARIA****MI*MEM001~\n"
                                 "N3*12 MAIN ST~\nN4**IL~\nNM1*PR*2******PI*PAYER01~\n"));
    settle_free(text);
    claim->patient.address_1[0] = claim->patient.state[0] = '\0';
    TEXT(claim->patient.address_2, "APT 4");
    TEXT(claim->patient.middle_name, "L");
    text = s_write(&claim, 1, &length, NULL);
    assert_non_null(strstr(text, "NM1*IL*1*ALVAREZ*MARIA*L***MI*MEM001~\nN3**APT 4~\nNM1*PR"));
    s_kept_t kept;
    s_read(text, length, false, &kept);
    assert_int_equal(kept.count, 1);
    s_assert_same(claim, kept.claims[0]);
    s_free_kept(&kept);
    settle_free(text);
    claim_destroy(&claim);
}

static void test_x12_837_write_puts_each_kind_in_its_own_group(void **state)
{
    (void)state;
    claim_t *claims[4] = {s_small_claim(CLAIM_KIND_PROFESSIONAL, "P1"),
                          s_small_claim(CLAIM_KIND_PROFESSIONAL, "P2"),
                          s_small_claim(CLAIM_KIND_INSTITUTIONAL, "I1"),
                          s_small_claim(CLAIM_KIND_PROFESSIONAL, "P3")};
    size_t length;
    uint32_t groups;
    char *text = s_write(claims, 4, &length, &groups);
    assert_int_equal(groups, 3);
    assert_non_null(strstr(text, "GS*HC*SUBMITTER*RECEIVER*20260301*0930*5*X*005010X222A1~\n"
                                 "ST*837*0005*005010X222A1~"));
    assert_non_null(strstr(text, "GS*HC*SUBMITTER*RECEIVER*20260301*0930*6*X*005010X223A2~\n"
                                 "ST*837*0006*005010X223A2~"));
    assert_non_null(strstr(text, "ST*837*0007*005010X222A1~"));
    assert_non_null(strstr(text, "IEA*3*000000005~\n"));
    /* P1 and P2 share their billing provider's HL 20 */
    assert_non_null(strstr(text, "HL*1**20*1~\nNM1*85*2******XX*1234567893~\nHL*2*1*22*0~"));
    assert_non_null(strstr(text, "HL*3*1*22*0~"));
    s_kept_t kept;
    x12_837_stats_t stats;
    x12_837_callbacks_t callbacks = {s_keep, s_problem};
    memset(&kept, 0, sizeof kept);
    assert_int_equal(x12_837_read(text, length, "in", &callbacks, &kept, NULL, &stats), SETTLE_OK);
    assert_int_equal(kept.problems, 0);
    assert_int_equal(stats.transactions, 3);
    assert_int_equal(kept.count, 4);
    for (unsigned i = 0; i < 4; i++)
        s_assert_same(claims[i], kept.claims[i]);
    s_free_kept(&kept);
    settle_free(text);
    for (unsigned i = 0; i < 4; i++)
        claim_destroy(&claims[i]);
}

/* Loop 2320: CAS after SBR, consecutive adjustments of a group in one
 * segment, six at most; loop 2430: SVD then its CAS after the line. */
static void test_x12_837_write_writes_other_payers_adjudication_as_cas_and_svd(void **state)
{
    (void)state;
    claim_t *claims[2] = {s_full_professional(), s_full_institutional()};
    size_t length;
    char *text = s_write(claims, 2, &length, NULL);
    const char *expected[] = {
        "SBR*P*18*******CI~\n"
        "CAS*CO*45*10.00~\n"
        "CAS*PR*1*5.00**2*2.50~\n"
        "CAS*CO*253*0.30~\n"
        "AMT*D*287.64~\n",
        "SBR*T*18*******CI~\n"
        "CAS*OA*23*1.00**94*1.01**B13*1.02**A1*1.03**16*1.04**97*1.05~\n"
        "CAS*OA*119*1.06**W1*1.07~\n"
        "AMT*D*0.00~\n",
        "CTP****1.5*UN~\n"
        "SVD*MEDICARE-A*1500.00*HC:99284:25:59:GP:RT**1.5~\n"
        "CAS*CO*45*300.00~\n"
        "CAS*PR*3*-25.00~\n"
        "SVD*SUPPLEMENT*0.00*HC:99284:25:59:GP:RT**1.5~\n"
        "CAS*PI*B7*50.00~\n"
        "LX*2~\n",
        "DTP*472*D8*20260929~\n"
        "SVD*MEDICARE-A*20.00*HC:J1100:JW**0.125~\n"
        "SE*",
        /* 837I: SVD04 the revenue code; SVD03 empty on a line without a procedure */
        "SVD*MEDICARE-A*1500.00*HC:99284:25:GP*0450*1~\n",
        "CTP****3*UN~\n"
        "SVD*MEDICARE-A*20.00**0250*3~\n"
        "SE*",
        "BHT*0019*00*5*20261002*0930*CH~",
        "BHT*0019*00*6*20251231*0930*CH~",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!strstr(text, expected[i]))
            fail_msg("no\n%s\nin\n%s", expected[i], text);
    settle_free(text);
    claim_destroy(&claims[0]);
    claim_destroy(&claims[1]);
}

/* One BHT04 per transaction: a claim made on another day opens a new
 * one; a claim without a creation date takes the writer's date, and so
 * shares the transaction of claims made that day. */
static void test_x12_837_write_opens_a_transaction_per_creation_date(void **state)
{
    (void)state;
    claim_t *claims[5] = {
        s_small_claim(CLAIM_KIND_PROFESSIONAL, "P1"), s_small_claim(CLAIM_KIND_PROFESSIONAL, "P2"),
        s_small_claim(CLAIM_KIND_PROFESSIONAL, "P3"), s_small_claim(CLAIM_KIND_PROFESSIONAL, "P4"),
        s_small_claim(CLAIM_KIND_PROFESSIONAL, "P5")};
    claims[2]->created = s_day(2026, 2, 28);
    claims[3]->created = DATE_NONE;
    claims[4]->created = s_day(2026, 3, 1); /* the writer's date */
    size_t length;
    uint32_t groups;
    char *text = s_write(claims, 5, &length, &groups);
    assert_int_equal(groups, 3);
    assert_non_null(strstr(text, "ST*837*0005*005010X222A1~\nBHT*0019*00*5*20260227*0930*CH~"));
    assert_non_null(strstr(text, "ST*837*0006*005010X222A1~\nBHT*0019*00*6*20260228*0930*CH~"));
    assert_non_null(strstr(text, "ST*837*0007*005010X222A1~\nBHT*0019*00*7*20260301*0930*CH~"));
    assert_null(strstr(text, "ST*837*0008"));
    s_kept_t kept;
    s_read(text, length, false, &kept);
    assert_int_equal(kept.problems, 0);
    assert_int_equal(kept.count, 5);
    claims[3]->created = s_day(2026, 3, 1);
    for (unsigned i = 0; i < 5; i++)
        s_assert_same(claims[i], kept.claims[i]);
    s_free_kept(&kept);
    settle_free(text);
    for (unsigned i = 0; i < 5; i++)
        claim_destroy(&claims[i]);
}

static void test_x12_837_write_with_no_claims_is_an_empty_interchange(void **state)
{
    (void)state;
    size_t length;
    uint32_t groups;
    char *text = s_write(NULL, 0, &length, &groups);
    assert_non_null(strstr(text, "*000000005*0*T*:~\nIEA*0*000000005~\n"));
    assert_int_equal(groups, 1);
    settle_free(text);
}

/* ------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------ */

static void s_assert_refused(claim_t *claim, const char *words)
{
    x12_837_writer_t *writer;
    settle_error_t error;
    assert_int_equal(x12_837_writer_new(&s_options, &writer, NULL), SETTLE_OK);
    settle_error_clear(&error);
    if (x12_837_writer_add(writer, claim, &error) != SETTLE_ERR_INVALID)
        fail_msg("not refused; expected a refusal saying \"%s\"", words);
    if (!strstr(error.message, words))
        fail_msg("\"%s\" does not say \"%s\"", error.message, words);
    char *text;
    assert_int_equal(x12_837_writer_finish(writer, &text, NULL, NULL), SETTLE_OK);
    assert_null(strstr(text, "GS*")); /* nothing of the refused claim was written */
    settle_free(text);
    x12_837_writer_destroy(&writer);
}

static void test_x12_837_write_refuses_what_an_837_cannot_carry(void **state)
{
    (void)state;
    claim_t *c = s_small_claim(CLAIM_KIND_PROFESSIONAL, "A*B");
    s_assert_refused(c, "delimiters");
    TEXT(c->claim_id, "AB");
    c->place_of_service[0] = '\0';
    s_assert_refused(c, "place_of_service");
    TEXT(c->place_of_service, "11");
    TEXT(c->lines[0].revenue_code, "0450");
    s_assert_refused(c, "lines[0] has a revenue code");
    c->lines[0].revenue_code[0] = '\0';
    c->patient_sex = CLAIM_SEX_MALE;
    s_assert_refused(c, "DMG needs both");
    c->patient_sex = CLAIM_SEX_UNKNOWN;
    TEXT(c->patient.address_2, "APT 4~B");
    s_assert_refused(c, "patient address_2 \"APT 4~B\" holds one of the X12 delimiters");
    claim_destroy(&c);
    c = s_small_claim(CLAIM_KIND_INSTITUTIONAL, "I1");
    c->lines[0].diagnosis_pointers[0] = 1;
    s_assert_refused(c, "diagnosis pointers");
    c->lines[0].diagnosis_pointers[0] = 0;
    c->frequency = 7;
    s_assert_refused(c, "bill_type");
    claim_destroy(&c);
}

/* What the 837 cannot give back as it was: a creation date past year
 * 9999, records out of the 837's order, a line adjustment with no line
 * payment before it, a line payment by a payer SVD01 cannot name. */
static void test_x12_837_write_refuses_other_payer_records_it_cannot_carry(void **state)
{
    (void)state;
    claim_t *c = s_full_professional();
    c->created = 2932897; /* 10000-01-01 */
    s_assert_refused(c, "created is not a day");
    c->created = s_day(2026, 10, 2);
    claim_cob_t saved = c->cob[0];
    c->cob[0].payer = 3; /* the claim has two other payers */
    s_assert_refused(c, "cob[0] is not a well-formed");
    c->cob[0] = saved;
    c->cob[5].payer = 1; /* claim level: payer 2's record, then payer 1's */
    s_assert_refused(c, "cob[5] is out of the order an 837 keeps");
    c->cob[5].payer = 2;
    for (int i = 12; i < 18; i++) /* line 2's records before line 1's */
        c->cob[i].line = i < 17 ? 2 : 1;
    s_assert_refused(c, "cob[17] is out of the order an 837 keeps");
    for (int i = 12; i < 18; i++)
        c->cob[i].line = i < 17 ? 1 : 2;
    claim_cob_t paid = c->cob[12];
    c->cob[12] = c->cob[13]; /* line 1: an adjustment before the payment */
    c->cob[13] = paid;
    s_assert_refused(c, "cob[12] is a line adjustment that does not follow");
    c->cob[13] = c->cob[12];
    c->cob[12] = paid;
    c->cob[15].payer = 1; /* payer 1's payment, then payer 2's adjustment */
    c->cob[16].payer = 2;
    s_assert_refused(c, "cob[16] is a line adjustment that does not follow");
    c->cob[15].payer = 2;
    c->cob[16].payer = 2;
    TEXT(c->other_payers[1].payer_id, "MEDICARE-A"); /* SVD01 would name both */
    s_assert_refused(c, "cob[12] is a line payment by an other payer without an id of its own");
    c->other_payers[1].payer_id[0] = '\0';
    s_assert_refused(c, "cob[15] is a line payment by an other payer without an id of its own");
    TEXT(c->other_payers[1].payer_id, "SUPPLEMENT");
    s_assert_round_trip(c); /* every edit undone */
    claim_destroy(&c);
}

static void test_x12_837_write_refuses_bad_options(void **state)
{
    (void)state;
    x12_837_writer_t *writer = NULL;
    x12_837_write_options_t bad[] = {s_options, s_options, s_options,
                                     s_options, s_options, s_options};
    bad[0].control_number = 0;
    bad[1].date = "20260230";
    bad[2].time = "2460";
    bad[3].sender_id = "A-SENDER-ID-OF-16";
    bad[4].receiver_id = "R*1";
    bad[5].usage = 'X';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        settle_error_t error;
        settle_error_clear(&error);
        assert_int_equal(x12_837_writer_new(&bad[i], &writer, &error), SETTLE_ERR_INVALID);
        assert_true(error.message[0] != '\0');
        assert_null(writer);
    }
    x12_837_write_options_t defaults = {1, "20260301", "0000", NULL, NULL, 0};
    assert_int_equal(x12_837_writer_new(&defaults, &writer, NULL), SETTLE_OK);
    char *text;
    assert_int_equal(x12_837_writer_finish(writer, &text, NULL, NULL), SETTLE_OK);
    assert_non_null(strstr(text, "*ZZ*SETTLE         *ZZ*SETTLE         *260301*0000*"));
    assert_non_null(strstr(text, "*000000001*0*P*:~"));
    settle_free(text);
    x12_837_writer_destroy(&writer);
}

static void test_x12_837_write_reports_every_allocation_failure(void **state)
{
    (void)state;
    claim_t *claim = s_full_institutional();
    bool completed = false;
    for (long n = 0; n < 64 && !completed; n++) {
        long live = settle_alloc_live();
        settle_alloc_fail_after(n);
        x12_837_writer_t *writer = NULL;
        char *text = NULL;
        int rc = x12_837_writer_new(&s_options, &writer, NULL);
        if (rc == SETTLE_OK)
            rc = x12_837_writer_add(writer, claim, NULL);
        if (rc == SETTLE_OK)
            rc = x12_837_writer_finish(writer, &text, NULL, NULL);
        settle_alloc_fail_after(-1);
        assert_true(rc == SETTLE_OK || rc == SETTLE_ERR_NOMEM);
        completed = rc == SETTLE_OK;
        settle_free(text);
        x12_837_writer_destroy(&writer);
        assert_int_equal(settle_alloc_live(), live);
    }
    assert_true(completed);
    claim_destroy(&claim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x12_837_write_round_trips_every_field_of_a_professional_claim),
        cmocka_unit_test(test_x12_837_write_round_trips_every_field_of_an_institutional_claim),
        cmocka_unit_test(test_x12_837_write_round_trips_sparse_claims),
        cmocka_unit_test(test_x12_837_write_round_trips_the_sample_claim_as_each_kind),
        cmocka_unit_test(test_x12_837_write_round_trips_the_fixtures),
        cmocka_unit_test(test_x12_837_write_writes_the_expected_text),
        cmocka_unit_test(test_x12_837_write_puts_the_patient_in_the_subscriber_loop),
        cmocka_unit_test(test_x12_837_write_puts_each_kind_in_its_own_group),
        cmocka_unit_test(test_x12_837_write_writes_other_payers_adjudication_as_cas_and_svd),
        cmocka_unit_test(test_x12_837_write_opens_a_transaction_per_creation_date),
        cmocka_unit_test(test_x12_837_write_with_no_claims_is_an_empty_interchange),
        cmocka_unit_test(test_x12_837_write_refuses_what_an_837_cannot_carry),
        cmocka_unit_test(test_x12_837_write_refuses_other_payer_records_it_cannot_carry),
        cmocka_unit_test(test_x12_837_write_refuses_bad_options),
        cmocka_unit_test(test_x12_837_write_reports_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
