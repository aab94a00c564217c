/*
 * fhir_json.c - a JSON document whose numbers keep their exact text and
 * whose values know their place in the text.
 *
 * jansson parses the structure; this file then scans the text once for the
 * value tokens (objects, arrays, strings that are not keys, numbers), in
 * order, and walks jansson's tree in the same order, pairing each token with
 * its json_t.  The pairing relies on jansson keeping an object's members in
 * the order they were read, which it has done since 2.8 (duplicate keys are
 * refused, so nothing is replaced); every pair is checked for the same kind
 * and the counts must agree, so a disagreement is an error, never a wrong
 * amount.  The pairs are then sorted by node address for lookups.
 */
#include "settle/fhir.h"

#include <stdlib.h>
#include <string.h>

#include "settle/alloc.h"

typedef enum { S_OBJECT = 'o', S_ARRAY = 'a', S_STRING = 's', S_NUMBER = 'n' } s_kind_t;

typedef struct {
    const json_t *node;
    uint32_t offset;
    uint32_t length; /* numbers only */
    uint32_t line;   /* 1-based, of offset */
    uint32_t column; /* 1-based, in bytes */
    char kind;       /* s_kind_t */
} s_token_t;

/* Where the scan stands: its offset and the line it is on. */
typedef struct {
    size_t at;
    uint32_t line;
    size_t line_start;
} s_cursor_t;

struct fhir_json_t {
    json_t *root;
    const char *text;
    size_t length;
    s_token_t *tokens; /* sorted by node after loading */
    size_t token_count;
};

/* ------------------------------------------------------------------------
 * Scanning the text for value tokens
 * ------------------------------------------------------------------------ */

static size_t s_skip_space(const char *text, size_t length, size_t at)
{
    while (at < length &&
           (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
        at++;
    return at;
}

/* The offset just past the string starting with the quote at text[at]. */
static size_t s_skip_string(const char *text, size_t length, size_t at)
{
    at++;
    while (at < length && text[at] != '"')
        at += text[at] == '\\' ? 2 : 1;
    return at < length ? at + 1 : length;
}

static void s_record(s_token_t *tokens, size_t *count, char kind, const s_cursor_t *cursor,
                     size_t length)
{
    if (tokens)
        tokens[*count] = (s_token_t){NULL,
                                     (uint32_t)cursor->at,
                                     (uint32_t)length,
                                     cursor->line,
                                     (uint32_t)(cursor->at - cursor->line_start + 1),
                                     kind};
    (*count)++;
}

static bool s_is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/*
 * Lists the value tokens of a text jansson has accepted, into tokens when
 * not NULL; returns how many there are.  Only called on valid JSON, so the
 * scan needs no error handling, but it stays within text[0..length).  Line
 * feeds can only stand between tokens (JSON strings cannot hold a raw one),
 * so lines are counted there.
 */
static size_t s_scan(const char *text, size_t length, s_token_t *tokens)
{
    size_t count = 0;
    s_cursor_t cursor = {0, 1, 0};
    while (cursor.at < length) {
        char c = text[cursor.at];
        size_t end = cursor.at + 1;
        if (c == '{' || c == '[') {
            s_record(tokens, &count, c == '{' ? S_OBJECT : S_ARRAY, &cursor, 0);
        } else if (c == '"') {
            end = s_skip_string(text, length, cursor.at);
            size_t next = s_skip_space(text, length, end);
            if (next >= length || text[next] != ':')
                s_record(tokens, &count, S_STRING, &cursor, end - cursor.at);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            end = cursor.at;
            while (end < length && s_is_number_char(text[end]))
                end++;
            s_record(tokens, &count, S_NUMBER, &cursor, end - cursor.at);
        } else if (c == '\n') {
            cursor.line++;
            cursor.line_start = end;
        }
        cursor.at = end; /* else punctuation, white space, the letters of true/false/null */
    }
    return count;
}

/* ------------------------------------------------------------------------
 * Pairing tokens with jansson's tree
 * ------------------------------------------------------------------------ */

static char s_kind_of(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return S_OBJECT;
    case JSON_ARRAY:
        return S_ARRAY;
    case JSON_STRING:
        return S_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return S_NUMBER;
    default:
        return 0;
    }
}

/* Depth-first, in document order; -1 when the tree and the tokens disagree.
 * Depth is bounded by jansson's own nesting limit (2048). */
static int s_pair(fhir_json_t *self, const json_t *value, size_t *next)
{
    char kind = s_kind_of(value);
    if (!kind)
        return 0;
    if (*next >= self->token_count || self->tokens[*next].kind != kind)
        return -1;
    self->tokens[(*next)++].node = value;
    const char *key;
    size_t index;
    json_t *member;
    if (kind == S_OBJECT) {
        json_object_foreach((json_t *)value, key, member)
        {
            if (s_pair(self, member, next) != 0)
                return -1;
        }
    } else if (kind == S_ARRAY) {
        json_array_foreach(value, index, member)
        {
            if (s_pair(self, member, next) != 0)
                return -1;
        }
    }
    return 0;
}

static int s_by_node(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const s_token_t *)a)->node;
    uintptr_t y = (uintptr_t)((const s_token_t *)b)->node;
    return (x > y) - (x < y);
}

static const s_token_t *s_find(const fhir_json_t *self, const json_t *value)
{
    if (!self || !value)
        return NULL;
    s_token_t key = {value, 0, 0, 0, 0, 0};
    return bsearch(&key, self->tokens, self->token_count, sizeof key, s_by_node);
}

/* ------------------------------------------------------------------------
 * The document
 * ------------------------------------------------------------------------ */

static void s_line_column(const char *text, size_t offset, uint32_t *line_out, uint32_t *column_out)
{
    uint32_t line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n')
            line++, line_start = i + 1;
    *line_out = line;
    *column_out = (uint32_t)(offset - line_start + 1);
}

static int s_parse_error(const char *text, size_t length, const json_error_t *json_error,
                         settle_error_t *error)
{
    if (json_error_code(json_error) == json_error_out_of_memory)
        return settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory parsing JSON");
    size_t at = json_error->position > 0 ? (size_t)json_error->position : 0;
    uint32_t line, column;
    s_line_column(text, at < length ? at : length, &line, &column);
    settle_error_at_line(error, line, column);
    return settle_error_set(error, SETTLE_ERR_SYNTAX, "invalid JSON: %s", json_error->text);
}

int fhir_json_load(const char *text, size_t length, fhir_json_t **self_out, settle_error_t *error)
{
    if (length > FHIR_TEXT_MAX)
        return settle_error_set(error, SETTLE_ERR_TOO_LONG, "the document is over %u bytes",
                                FHIR_TEXT_MAX);
    json_error_t json_error;
    json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &json_error);
    if (!root)
        return s_parse_error(text, length, &json_error, error);
    fhir_json_t *self = settle_calloc(1, sizeof *self);
    size_t count = s_scan(text, length, NULL);
    s_token_t *tokens = self ? settle_calloc(count ? count : 1, sizeof *tokens) : NULL;
    if (!tokens) {
        settle_free(self);
        json_decref(root);
        return settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory mapping JSON");
    }
    *self = (fhir_json_t){root, text, length, tokens, count};
    s_scan(text, length, tokens);
    size_t next = 0;
    if (s_pair(self, root, &next) != 0 || next != count) {
        fhir_json_destroy(&self);
        return settle_error_set(error, SETTLE_ERR_CORRUPT,
                                "JSON tree and text disagree (jansson member order?)");
    }
    qsort(tokens, count, sizeof *tokens, s_by_node);
    *self_out = self;
    return SETTLE_OK;
}

void fhir_json_destroy(fhir_json_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fhir_json_t *self = *self_p;
    settle_free(self->tokens);
    json_decref(self->root);
    settle_free(self);
    *self_p = NULL;
}

const json_t *fhir_json_root(const fhir_json_t *self)
{
    return self->root;
}

bool fhir_json_number_text(const fhir_json_t *self, const json_t *value, const char **text_out,
                           size_t *length_out)
{
    const s_token_t *token = json_is_number(value) ? s_find(self, value) : NULL;
    if (!token)
        return false;
    *text_out = self->text + token->offset;
    *length_out = token->length;
    return true;
}

bool fhir_json_position(const fhir_json_t *self, const json_t *value, uint32_t *line_out,
                        uint32_t *column_out)
{
    const s_token_t *token = s_find(self, value);
    if (!token)
        return false;
    *line_out = token->line;
    *column_out = token->column;
    return true;
}

/* ------------------------------------------------------------------------
 * Exact decimals
 * ------------------------------------------------------------------------ */

int fhir_decimal_scaled(const char *text, size_t length, int decimals_max, int64_t *value_out)
{
    if (!text || decimals_max < 0 || decimals_max > 6)
        return SETTLE_ERR_INVALID;
    size_t at = 0;
    bool negative = length > 0 && text[0] == '-';
    at += negative;
    uint64_t magnitude = 0;
    int digits = 0, decimals = -1;
    for (; at < length; at++) {
        char c = text[at];
        if (c == '.' && decimals < 0 && digits > 0) {
            decimals = 0;
            continue;
        }
        if (c < '0' || c > '9' || decimals >= decimals_max)
            return SETTLE_ERR_SYNTAX;
        if (magnitude > (UINT64_MAX - 9) / 10)
            return SETTLE_ERR_OVERFLOW;
        magnitude = magnitude * 10 + (uint64_t)(c - '0');
        digits++;
        if (decimals >= 0)
            decimals++;
    }
    if (digits == 0 || decimals == 0)
        return SETTLE_ERR_SYNTAX; /* "", "-", "12." */
    for (int i = decimals < 0 ? 0 : decimals; i < decimals_max; i++) {
        if (magnitude > UINT64_MAX / 10)
            return SETTLE_ERR_OVERFLOW;
        magnitude *= 10;
    }
    if (magnitude > (uint64_t)INT64_MAX + negative)
        return SETTLE_ERR_OVERFLOW;
    if (!negative || magnitude == 0)
        *value_out = (int64_t)magnitude;
    else
        *value_out = -(int64_t)(magnitude - 1) - 1; /* reaches INT64_MIN without overflow */
    return SETTLE_OK;
}
