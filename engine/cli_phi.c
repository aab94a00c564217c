/*
 * cli_phi.c - the payer's PHI secret on the client: which file holds it,
 * and protecting claims and enrollments before they are signed (phi.h).
 * The ledger refuses anything with identifiers in the clear, so a client
 * without the secret says so here, before sending, naming the file.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/enrollment.h"
#include "settle/hash.h"

/* No payer's secret: the user's own key, when it loads, may open what was
 * sealed for it as a billing provider. */
static int s_open_party(cli_phi_t *phi, const char *key_path)
{
    phi->path[0] = '\0';
    sign_key_t *key = NULL;
    uint8_t public_key[SIGN_CURVE_KEY_SIZE];
    if (key_path && sign_key_load(key_path, &key, NULL) == SETTLE_OK &&
        sign_key_curve(key, public_key, phi->party) == SETTLE_OK) {
        phi->have_party = 1;
        snprintf(phi->path, sizeof phi->path, "%s", key_path);
    }
    sign_key_destroy(&key);
    return 0;
}

int cli_phi_open(cli_phi_t *phi, const char *option, const char *key_path)
{
    memset(phi, 0, sizeof *phi);
    size_t length = key_path ? strlen(key_path) : 0;
    if (option) {
        snprintf(phi->path, sizeof phi->path, "%s", option);
    } else if (length > 4 && length < sizeof phi->path &&
               strcmp(key_path + length - 4, ".key") == 0) {
        snprintf(phi->path, sizeof phi->path, "%.*s.phi", (int)(length - 4), key_path);
        if (access(phi->path, F_OK) != 0)
            return s_open_party(phi, key_path);
    } else {
        return s_open_party(phi, key_path);
    }
    settle_error_t error;
    settle_error_clear(&error);
    if (phi_key_load(phi->path, &phi->key, &error) != SETTLE_OK) {
        cli_print_error(&error);
        return -1;
    }
    phi->have = 1;
    return 0;
}

void cli_phi_free(cli_phi_t *phi)
{
    phi_key_wipe(&phi->key);
    memset(phi->party, 0, sizeof phi->party);
    claim_destroy(&phi->scratch);
    phi->have = phi->have_party = 0;
}

int cli_phi_claim(cli_phi_t *phi, const char *file, const claim_t *claim, const claim_t **out)
{
    settle_error_t error;
    settle_error_clear(&error);
    if (phi_check_claim(claim, NULL) == SETTLE_OK) {
        *out = claim;
        return 0;
    }
    if (!phi->have) {
        fprintf(stderr,
                "settle: %s: claim %s carries the patient's identifiers in the clear and no PHI "
                "secret was given: --phi FILE (settle keygen --phi FILE makes one)\n",
                file, claim->claim_id);
        return -1;
    }
    if (!phi->scratch && !(phi->scratch = claim_new()))
        return fprintf(stderr, "settle: out of memory\n"), -1;
    uint8_t provider[SIGN_CURVE_KEY_SIZE];
    bool for_provider =
        phi->provider && phi->provider(phi->provider_context, claim->billing_npi, provider) == 0;
    if (claim_copy(phi->scratch, claim) != SETTLE_OK ||
        phi_protect_claim(&phi->key, for_provider ? provider : NULL, phi->scratch, &error) !=
            SETTLE_OK) {
        settle_error_file(&error, file);
        if (!error.message[0])
            settle_error_set(&error, SETTLE_ERR_NOMEM, "out of memory");
        cli_print_error(&error);
        return -1;
    }
    *out = phi->scratch;
    return 0;
}

int cli_phi_enrollment(cli_phi_t *phi, const char *file, const char *payer, const char *text,
                       size_t size, char **out, size_t *out_size)
{
    settle_error_t error;
    settle_error_clear(&error);
    enrollment_t *enrollment = NULL;
    if (enrollment_load_text(text, size, file, &enrollment, &error) != SETTLE_OK) {
        cli_print_error(&error);
        return -1;
    }
    char *buffer = NULL;
    size_t used = 0;
    int rc = 0;
    if (!enrollment_unprotected(enrollment, NULL)) {
        buffer = settle_malloc(size + 1);
        rc = buffer ? 0 : -1;
        if (buffer) {
            memcpy(buffer, text, size);
            buffer[size] = '\0';
            used = size;
        }
    } else if (!phi->have) {
        fprintf(stderr,
                "settle: %s: the enrollment carries member ids and birth dates in the clear and "
                "no PHI secret was given: --phi FILE (settle keygen --phi FILE makes one)\n",
                file);
        rc = -1;
    } else if (enrollment_protect(enrollment, &phi->key, payer, &buffer, &used) != SETTLE_OK) {
        fprintf(stderr, "settle: %s: cannot protect the enrollment (out of memory)\n", file);
        rc = -1;
    }
    enrollment_destroy(&enrollment);
    if (rc != 0) {
        settle_free(buffer);
        return -1;
    }
    *out = buffer;
    *out_size = used;
    return 0;
}

/* Prints what an envelope holds, as "patient_..." lines. */
static void s_print_record(const phi_record_t *r, FILE *out)
{
    const claim_patient_t *p = &r->patient;
    fprintf(out, "patient_member_id %s\n", r->member_id);
    if (p->last_name[0] || p->first_name[0])
        fprintf(out, "patient_name %s%s%s%s%s\n", p->last_name, p->first_name[0] ? ", " : "",
                p->first_name, p->middle_name[0] ? " " : "", p->middle_name);
    char birth[DATE_TEXT_SIZE];
    if (r->birth_date != DATE_NONE && date_format_iso(r->birth_date, birth, sizeof birth) == 0)
        fprintf(out, "patient_birth_date %s\n", birth);
    if (p->address_1[0] || p->city[0])
        fprintf(out, "patient_address %s%s%s%s%s%s%s %s\n", p->address_1,
                p->address_2[0] ? ", " : "", p->address_2, p->address_1[0] ? ", " : "", p->city,
                p->state[0] ? ", " : "", p->state, p->postal_code);
}

/* Opens the envelope of one claim answer; 0, or 1 when it does not open
 * (said on stderr and in a "patient_sealed" line). */
/* Opens an envelope with what the user holds: the payer's secret, or its
 * own key as the billing provider's. */
static int s_open(cli_phi_t *phi, const char *claim_id, const char *payer, const char *member,
                  const uint8_t *envelope, size_t size, phi_record_t *record, settle_error_t *error)
{
    if (phi->have)
        return phi_open(&phi->key, payer, member, claim_id, envelope, size, record, error);
    return phi_open_as_provider(phi->party, payer, member, claim_id, envelope, size, record, error);
}

/* Opens the envelope of one claim answer; 0, or 1 when the payer's secret
 * does not open it (said on stderr and in a "patient_sealed" line).  With
 * a participant's own key, an envelope not sealed for it is no failure:
 * an auditor, or the payer without its secret, reads claims it may not
 * open. */
static int s_reveal_one(cli_phi_t *phi, const char *claim_id, const char *payer, const char *member,
                        const char *hex, size_t hex_size, FILE *out)
{
    uint8_t envelope[CLAIM_PHI_SIZE_MAX];
    size_t size = hex_size / 2;
    bool ok = hex_size % 2 == 0 && size <= sizeof envelope &&
              hash_from_hex(hex, hex_size, false, envelope) == hex_size;
    settle_error_t error;
    settle_error_clear(&error);
    phi_record_t record;
    if (ok && s_open(phi, claim_id, payer, member, envelope, size, &record, &error) == SETTLE_OK) {
        s_print_record(&record, out);
        memset(&record, 0, sizeof record);
        return 0;
    }
    if (!phi->have) {
        fprintf(out, "patient_sealed not for this key\n");
        return 0;
    }
    if (!error.message[0])
        settle_error_set(&error, SETTLE_ERR_CORRUPT, "claim %s: the phi line is not hex", claim_id);
    fprintf(out, "patient_sealed does not open\n");
    fprintf(stderr, "settle: %s: %s\n", phi->path, error.message);
    return 1;
}

int cli_phi_reveal_answer(cli_phi_t *phi, const char *text, FILE *out)
{
    char claim_id[CLAIM_ID_SIZE] = "", payer[CLAIM_PAYER_ID_SIZE] = "",
         member[CLAIM_MEMBER_ID_SIZE] = "";
    int failed = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        fwrite(line, 1, length, out);
        fputc('\n', out);
        const char *space = memchr(line, ' ', length);
        size_t key_size = space ? (size_t)(space - line) : length;
        const char *value = space ? space + 1 : line + length;
        size_t value_size = length - (space ? key_size + 1 : length);
        char *field = key_size == 5 && memcmp(line, "claim", 5) == 0    ? claim_id
                      : key_size == 5 && memcmp(line, "payer", 5) == 0  ? payer
                      : key_size == 6 && memcmp(line, "member", 6) == 0 ? member
                                                                        : NULL;
        size_t field_size = field == claim_id ? sizeof claim_id
                            : field == payer  ? sizeof payer
                                              : sizeof member;
        if (field && value_size < field_size) {
            memcpy(field, value, value_size);
            field[value_size] = '\0';
        }
        if ((phi->have || phi->have_party) && key_size == 3 && memcmp(line, "phi", 3) == 0 &&
            !(value_size == 1 && value[0] == '-'))
            failed |= s_reveal_one(phi, claim_id, payer, member, value, value_size, out);
        line += length + (end ? 1 : 0);
    }
    return failed;
}

/* True when text can stand in an X12 element: printable, no delimiter of
 * settle's 835 (element *, segment ~, component :, repetition ^). */
static bool s_x12_safe(const char *text)
{
    for (; *text; text++)
        if (*text == '*' || *text == '~' || *text == ':' || *text == '^')
            return false;
    return true;
}

/* The NM1*QC segment for an opened envelope, into out. */
static void s_patient_segment(const phi_record_t *r, char *out, size_t size)
{
    const claim_patient_t *p = &r->patient;
    bool names =
        s_x12_safe(p->last_name) && s_x12_safe(p->first_name) && s_x12_safe(p->middle_name);
    snprintf(out, size, "NM1*QC*1*%s*%s*%s***MI*%s", names ? p->last_name : "",
             names ? p->first_name : "", names ? p->middle_name : "", r->member_id);
}

/* Opens the envelope of (payer, claim_id) as the node answers it: 0; -1
 * when the payer's secret does not open it (said); -2 when a participant's
 * own key does not (it was not sealed for it). */
static int s_open_claim(cli_phi_t *phi, cli_client_t *client, const char *payer,
                        const char *claim_id, phi_record_t *record)
{
    char *text = NULL, member[CLAIM_MEMBER_ID_SIZE], hex[2 * CLAIM_PHI_SIZE_MAX + 1];
    const char *arguments[] = {claim_id, payer};
    int rc = cli_client_text(client, "claim", arguments, 2, &text) == CLI_EXIT_OK &&
                     cli_text_field(text, "member", member, sizeof member) == 0 &&
                     cli_text_field(text, "phi", hex, sizeof hex) == 0
                 ? 0
                 : -1;
    free(text);
    uint8_t envelope[CLAIM_PHI_SIZE_MAX];
    size_t length = rc == 0 ? strlen(hex) : 0, size = length / 2;
    if (rc == 0 && (length % 2 || size > sizeof envelope ||
                    hash_from_hex(hex, length, false, envelope) != length))
        rc = -1;
    settle_error_t error;
    settle_error_clear(&error);
    if (rc == 0 &&
        s_open(phi, claim_id, payer, member, envelope, size, record, &error) != SETTLE_OK) {
        if (phi->have) /* a participant's key opens only what was sealed for it */
            fprintf(stderr, "settle: %s: %s\n", phi->path, error.message);
        rc = phi->have ? -1 : -2;
    }
    return rc;
}

/* Copies the element that starts at text (up to * or ~) into out. */
static void s_element(const char *text, char *out, size_t size)
{
    size_t length = strcspn(text, "*~");
    if (length < size) {
        memcpy(out, text, length);
        out[length] = '\0';
    }
}

/* The segment at[0..length) as it goes out: an NM1*QC (from start, after
 * any line break) rebuilt from the claim's opened envelope, into segment;
 * any other as it is.  *failed is set when the payer's secret did not
 * open the envelope. */
static const char *s_piece(cli_phi_t *phi, cli_client_t *client, const char *payer,
                           const char *claim_id, const char *at, const char *start, bool ended,
                           char *segment, size_t size, size_t *length, int *failed)
{
    if (strncmp(start, "NM1*QC*", 7) != 0 || !claim_id[0])
        return at;
    phi_record_t record;
    int opened = s_open_claim(phi, client, payer, claim_id, &record);
    if (opened == -1)
        *failed = 1;
    if (opened != 0)
        return at;
    char built[400];
    s_patient_segment(&record, built, sizeof built);
    memset(&record, 0, sizeof record);
    snprintf(segment, size, "%.*s%s%s", (int)(start - at), at, built, ended ? "~" : "");
    *length = strlen(segment);
    return segment;
}

int cli_phi_fill_835(cli_phi_t *phi, cli_client_t *client, const char *payer, char **text)
{
    if (!phi->have && !phi->have_party)
        return 0;
    size_t used = 0, capacity = strlen(*text) + 4096;
    char *out = malloc(capacity), claim_id[CLAIM_ID_SIZE] = "", payer_id[CLAIM_PAYER_ID_SIZE] = "";
    if (!out)
        return -1;
    snprintf(payer_id, sizeof payer_id, "%s", payer ? payer : "");
    int failed = 0;
    for (const char *at = *text; *at;) {
        const char *end = strchr(at, '~'), *start = at;
        size_t length = end ? (size_t)(end - at) + 1 : strlen(at);
        while (start < at + length && (*start == '\r' || *start == '\n'))
            start++; /* a segment may start after the line break of the one before */
        if (!payer && strncmp(start, "REF*2U*", 7) == 0)
            s_element(start + 7, payer_id, sizeof payer_id);
        else if (strncmp(start, "CLP*", 4) == 0)
            s_element(start + 4, claim_id, sizeof claim_id);
        char segment[512];
        size_t piece_size = length;
        const char *piece = s_piece(phi, client, payer_id, claim_id, at, start, end != NULL,
                                    segment, sizeof segment, &piece_size, &failed);
        if (used + piece_size + 1 > capacity) {
            capacity = (used + piece_size + 1) * 2;
            char *bigger = realloc(out, capacity);
            if (!bigger) {
                free(out);
                return -1;
            }
            out = bigger;
        }
        memcpy(out + used, piece, piece_size);
        used += piece_size;
        at += length;
    }
    out[used] = '\0';
    free(*text);
    *text = out;
    return failed;
}

/* The billing providers met so far, with their X25519 keys: a batch names
 * few, each asked of the node once. */
#define S_PROVIDERS_MAX 256
static struct {
    char npi[CLAIM_NPI_SIZE];
    int found;
    uint8_t key[SIGN_CURVE_KEY_SIZE];
} s_providers[S_PROVIDERS_MAX];
static unsigned s_provider_count;

/* cli_phi_provider_fn asking the node (`participant npi NPI`). */
static int s_provider_key(void *context, const char *npi, uint8_t key_out[SIGN_CURVE_KEY_SIZE])
{
    cli_client_t *client = context;
    unsigned i = 0;
    while (i < s_provider_count && strcmp(s_providers[i].npi, npi) != 0)
        i++;
    if (i == s_provider_count) {
        char *text = NULL, hex[2 * SIGN_PUBLIC_KEY_SIZE + 8];
        const char *arguments[] = {"npi", npi};
        uint8_t public_key[SIGN_PUBLIC_KEY_SIZE], curve[SIGN_CURVE_KEY_SIZE];
        int asked = cli_client_text(client, "participant", arguments, 2, &text);
        int found = asked == CLI_EXIT_OK &&
                    cli_text_field(text, "public_key", hex, sizeof hex) == 0 &&
                    sign_public_key_parse(hex, strlen(hex), public_key) == SETTLE_OK &&
                    sign_public_key_to_curve(public_key, curve) == SETTLE_OK;
        free(text);
        /* No answer is not "no such provider": not remembered. */
        if (s_provider_count == S_PROVIDERS_MAX ||
            (asked != CLI_EXIT_OK && asked != CLI_EXIT_REJECTED))
            return found ? (memcpy(key_out, curve, sizeof curve), 0) : -1;
        snprintf(s_providers[i].npi, sizeof s_providers[i].npi, "%s", npi);
        s_providers[i].found = found;
        if (found)
            memcpy(s_providers[i].key, curve, sizeof curve);
        s_provider_count++;
    }
    if (!s_providers[i].found)
        return -1;
    memcpy(key_out, s_providers[i].key, SIGN_CURVE_KEY_SIZE);
    return 0;
}

void cli_phi_seal_for_providers(cli_phi_t *phi, cli_client_t *client)
{
    phi->provider = s_provider_key;
    phi->provider_context = client;
}
