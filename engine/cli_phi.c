/*
 * cli_phi.c - the payer's PHI secret on the client: which file holds it,
 * and protecting claims and enrollments before they are signed (phi.h).
 * The ledger refuses anything with identifiers in the clear, so a client
 * without the secret says so here, before sending, naming the file.
 */
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/enrollment.h"

int cli_phi_open(cli_phi_t *phi, const char *option, const char *key_path)
{
    memset(phi, 0, sizeof *phi);
    size_t length = key_path ? strlen(key_path) : 0;
    if (option) {
        snprintf(phi->path, sizeof phi->path, "%s", option);
    } else if (length > 4 && length < sizeof phi->path && strcmp(key_path + length - 4, ".key") == 0) {
        snprintf(phi->path, sizeof phi->path, "%.*s.phi", (int)(length - 4), key_path);
        if (access(phi->path, F_OK) != 0)
            return phi->path[0] = '\0', 0;
    } else {
        return 0;
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
    claim_destroy(&phi->scratch);
    phi->have = 0;
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
    if (claim_copy(phi->scratch, claim) != SETTLE_OK ||
        phi_protect_claim(&phi->key, phi->scratch, &error) != SETTLE_OK) {
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
    if (enrollment_is_protected(enrollment)) {
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
