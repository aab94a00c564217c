/*
 * enrollment_phi.c - an enrollment protected for the shared ledger
 * (enrollment.h, phi.h): member keys for ids and families, no birth dates.
 */
#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/enrollment.h"
#include "settle/phi.h"

const char *enrollment_unprotected(const enrollment_t *self, size_t *index_out)
{
    for (size_t i = 0; i < enrollment_count(self); i++) {
        const enrollment_member_t *m = enrollment_member(self, i);
        const char *clear = !phi_is_member_key(m->id)       ? "its id is not a member key"
                            : !phi_is_member_key(m->family) ? "its family is not a member key"
                            : m->birth_date != DATE_NONE    ? "it carries a birth date"
                                                            : NULL;
        if (clear) {
            if (index_out)
                *index_out = i;
            return clear;
        }
    }
    return NULL;
}

/* Appends text to the growing buffer; false when out of memory. */
static bool s_append(char **buffer, size_t *used, size_t *capacity, const char *text)
{
    size_t length = strlen(text);
    if (*used + length + 1 > *capacity) {
        size_t grown = (*capacity ? *capacity * 2 : 4096) + length;
        char *bigger = settle_realloc(*buffer, grown);
        if (!bigger)
            return false;
        *buffer = bigger;
        *capacity = grown;
    }
    memcpy(*buffer + *used, text, length + 1);
    *used += length;
    return true;
}

/* One member as a line of protected YAML. */
static bool s_member_line(const phi_key_t *key, const char *payer, const enrollment_member_t *m,
                          char *line, size_t size)
{
    char id[PHI_MEMBER_KEY_SIZE], family[PHI_MEMBER_KEY_SIZE];
    char from[DATE_TEXT_SIZE], to[DATE_TEXT_SIZE + 8] = "";
    if (phi_member_key(key, payer, m->id, id) != SETTLE_OK ||
        phi_member_key(key, payer, m->family, family) != SETTLE_OK ||
        date_format_iso(m->coverage_from, from, sizeof from) != SETTLE_OK)
        return false;
    if (m->coverage_to != INT32_MAX) {
        memcpy(to, ", to: ", 6);
        if (date_format_iso(m->coverage_to, to + 6, sizeof to - 6) != SETTLE_OK)
            return false;
    }
    char contract[2 * CONTRACT_ID_SIZE];
    size_t k = 0;
    for (const char *c = m->contract; *c && k + 2 < sizeof contract; c++) {
        if (*c == '"' || *c == '\\')
            contract[k++] = '\\';
        contract[k++] = *c;
    }
    contract[k] = '\0';
    int n = snprintf(
        line, size, "  - {id: %s, family: %s, contract: \"%s\", sex: %c, coverage: {from: %s%s}}\n",
        id, family, contract, m->sex, from, to);
    return n > 0 && (size_t)n < size;
}

int enrollment_protect(const enrollment_t *self, const phi_key_t *key, const char *payer,
                       char **text_out, size_t *size_out)
{
    char *buffer = NULL, line[512];
    size_t used = 0, capacity = 0;
    bool ok = s_append(&buffer, &used, &capacity,
                       "# protected for the shared ledger: member keys, no birth dates\n"
                       "members:\n");
    for (size_t i = 0; ok && i < enrollment_count(self); i++)
        ok = s_member_line(key, payer, enrollment_member(self, i), line, sizeof line) &&
             s_append(&buffer, &used, &capacity, line);
    if (ok && enrollment_count(self) == 0)
        ok = s_append(&buffer, &used, &capacity, "  []\n");
    if (!ok) {
        settle_free(buffer);
        return SETTLE_ERR_NOMEM;
    }
    *text_out = buffer;
    *size_out = used;
    return SETTLE_OK;
}
