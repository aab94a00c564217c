/*
 * fhir_out.c - exact decimals for the FHIR writers: marked strings in the
 * jansson tree, unmarked in the written text.  Why, and the contract each
 * writer keeps (no caller text outside printable ASCII), is in fhir_out.h.
 * Moved here from fhir_response.c when the Claim writer came to need it.
 */
#include "fhir_out.h"

#include <stdio.h>
#include <string.h>

#include "settle/alloc.h"

/* The mark a decimal's string starts with: a byte writers never let through. */
#define S_MARK "\x01"
/* How jansson writes the mark at the start of a string, quote included. */
#define S_MARK_WRITTEN        "\"\\u0001"
#define S_MARK_WRITTEN_LENGTH 7

json_t *fhir_out_decimal(int64_t value, unsigned scale, bool trim)
{
    char text[48];
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    uint64_t unit = scale == 3 ? 1000 : 100;
    int length = snprintf(text, sizeof text, S_MARK "%s%llu.%0*llu", value < 0 ? "-" : "",
                          (unsigned long long)(magnitude / unit), (int)scale,
                          (unsigned long long)(magnitude % unit));
    while (trim && length > 0 && text[length - 1] == '0')
        text[--length] = '\0';
    if (trim && length > 0 && text[length - 1] == '.')
        text[--length] = '\0';
    return json_string(text);
}

size_t fhir_out_unmark(char *text, size_t length)
{
    size_t read = 0, write = 0;
    bool in_string = false;
    while (read < length) {
        char c = text[read];
        if (!in_string && length - read >= S_MARK_WRITTEN_LENGTH &&
            memcmp(text + read, S_MARK_WRITTEN, S_MARK_WRITTEN_LENGTH) == 0) {
            read += S_MARK_WRITTEN_LENGTH;
            while (read < length && text[read] != '"')
                text[write++] = text[read++];
            read++; /* the closing quote */
            continue;
        }
        if (in_string && c == '\\' && read + 1 < length) {
            text[write++] = text[read++];
        } else if (c == '"') {
            in_string = !in_string;
        }
        text[write++] = text[read++];
    }
    text[write] = '\0';
    return write;
}

int fhir_out_dump(const json_t *root, bool pretty, char **text_out, size_t *length_out)
{
    size_t flags = JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    size_t size = json_dumpb(root, NULL, 0, flags);
    char *text = size ? settle_malloc(size + 1) : NULL;
    if (!text)
        return SETTLE_ERR_NOMEM;
    if (json_dumpb(root, text, size, flags) != size) {
        settle_free(text);
        return SETTLE_ERR_NOMEM;
    }
    size = fhir_out_unmark(text, size);
    *text_out = text;
    if (length_out)
        *length_out = size;
    return SETTLE_OK;
}
