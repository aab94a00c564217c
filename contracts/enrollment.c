/*
 * enrollment.c - reads the members list (YAML) into a sorted array.
 *
 * Simpler than the contract loader: the first problem stops the read,
 * reported at the YAML node's line and column.
 */
#include "settle/enrollment.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "settle/alloc.h"
#include "settle/date.h"

struct enrollment_s {
    enrollment_member_t *members;
    size_t count;
    size_t capacity;
};

typedef struct {
    yaml_document_t document;
    const char *file;
    settle_error_t *error;
    uint32_t visits;
} s_reader_t;

static int s_fail(s_reader_t *reader, yaml_mark_t mark, int code, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static int s_fail(s_reader_t *reader, yaml_mark_t mark, int code, const char *format, ...)
{
    char message[SETTLE_ERROR_MESSAGE_SIZE];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    settle_error_file(reader->error, reader->file);
    settle_error_at_line(reader->error, (uint32_t)mark.line + 1, (uint32_t)mark.column + 1);
    settle_error_set(reader->error, code, "%s", message);
    return code;
}

static yaml_node_t *s_node(s_reader_t *reader, int index)
{
    reader->visits++;
    return reader->visits > 4 * ENROLLMENT_MEMBERS_MAX
               ? NULL
               : yaml_document_get_node(&reader->document, index);
}

static int s_text(s_reader_t *reader, yaml_node_t *node, char *field, size_t size)
{
    if (node->type != YAML_SCALAR_NODE)
        return s_fail(reader, node->start_mark, SETTLE_ERR_SYNTAX, "expected a value");
    size_t length = node->data.scalar.length;
    if (length == 0 ||
        claim_set_text(field, size, (const char *)node->data.scalar.value, length) != SETTLE_OK)
        return s_fail(reader, node->start_mark, SETTLE_ERR_INVALID,
                      "bad value: 1 to %zu printable characters expected", size - 1);
    return SETTLE_OK;
}

static int s_date(s_reader_t *reader, yaml_node_t *node, int32_t *days_out)
{
    if (node->type != YAML_SCALAR_NODE ||
        date_parse_iso((const char *)node->data.scalar.value, node->data.scalar.length, days_out) !=
            SETTLE_OK)
        return s_fail(reader, node->start_mark, SETTLE_ERR_SYNTAX, "bad date; expected CCYY-MM-DD");
    return SETTLE_OK;
}

static bool s_is(yaml_node_t *key, const char *name)
{
    return key->type == YAML_SCALAR_NODE && key->data.scalar.length == strlen(name) &&
           memcmp(key->data.scalar.value, name, key->data.scalar.length) == 0;
}

static int s_coverage(s_reader_t *reader, yaml_node_t *node, enrollment_member_t *member)
{
    if (node->type != YAML_MAPPING_NODE)
        return s_fail(reader, node->start_mark, SETTLE_ERR_SYNTAX, "coverage: expected {from, to}");
    bool from_seen = false;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = s_node(reader, pair->key), *value = s_node(reader, pair->value);
        int rc;
        if (!key || !value)
            return s_fail(reader, node->start_mark, SETTLE_ERR_TOO_MANY, "file too large");
        if (s_is(key, "from"))
            rc = s_date(reader, value, &member->coverage_from), from_seen = true;
        else if (s_is(key, "to"))
            rc = s_date(reader, value, &member->coverage_to);
        else
            rc = s_fail(reader, key->start_mark, SETTLE_ERR_UNKNOWN_KEY,
                        "unknown key in coverage; expected from or to");
        if (rc != SETTLE_OK)
            return rc;
    }
    if (!from_seen)
        return s_fail(reader, node->start_mark, SETTLE_ERR_MISSING,
                      "missing required key \"from\" in coverage");
    if (member->coverage_to < member->coverage_from)
        return s_fail(reader, node->start_mark, SETTLE_ERR_RANGE,
                      "coverage: \"to\" is before \"from\"");
    return SETTLE_OK;
}

/* One member's key; sets the bit of what it filled in *seen. */
static int s_member_key(s_reader_t *reader, yaml_node_t *key, yaml_node_t *value,
                        enrollment_member_t *member, unsigned *seen)
{
    char sex[2];
    int rc;
    if (s_is(key, "id"))
        rc = s_text(reader, value, member->id, sizeof member->id), *seen |= 1;
    else if (s_is(key, "family"))
        rc = s_text(reader, value, member->family, sizeof member->family);
    else if (s_is(key, "contract"))
        rc = s_text(reader, value, member->contract, sizeof member->contract), *seen |= 2;
    else if (s_is(key, "birth_date"))
        rc = s_date(reader, value, &member->birth_date);
    else if (s_is(key, "coverage"))
        rc = s_coverage(reader, value, member), *seen |= 4;
    else if (s_is(key, "sex")) {
        rc = s_text(reader, value, sex, sizeof sex);
        if (rc == SETTLE_OK && sex[0] != 'F' && sex[0] != 'M' && sex[0] != 'U')
            rc = s_fail(reader, value->start_mark, SETTLE_ERR_INVALID, "sex: expected F, M or U");
        member->sex = sex[0];
    } else
        rc = s_fail(reader, key->start_mark, SETTLE_ERR_UNKNOWN_KEY,
                    "unknown key in member; expected id, family, contract, birth_date, sex "
                    "or coverage");
    return rc;
}

static int s_member(s_reader_t *reader, yaml_node_t *node, enrollment_member_t *member)
{
    /* birth_date is not required: a protected enrollment (phi.h) leaves it
     * out, and the age comes from each claim line instead. */
    static const char *const required[] = {"id", "contract", "coverage"};
    if (node->type != YAML_MAPPING_NODE)
        return s_fail(reader, node->start_mark, SETTLE_ERR_SYNTAX, "member: expected a mapping");
    memset(member, 0, sizeof *member);
    member->sex = CLAIM_SEX_UNKNOWN;
    member->coverage_to = INT32_MAX;
    member->birth_date = DATE_NONE;
    unsigned seen = 0;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = s_node(reader, pair->key), *value = s_node(reader, pair->value);
        if (!key || !value)
            return s_fail(reader, node->start_mark, SETTLE_ERR_TOO_MANY, "file too large");
        int rc = s_member_key(reader, key, value, member, &seen);
        if (rc != SETTLE_OK)
            return rc;
    }
    for (unsigned bit = 0; bit < 3; bit++)
        if (!(seen & (1u << bit)))
            return s_fail(reader, node->start_mark, SETTLE_ERR_MISSING,
                          "missing required key \"%s\" in member", required[bit]);
    if (!member->family[0])
        memcpy(member->family, member->id, sizeof member->family);
    return SETTLE_OK;
}

static int s_member_order(const void *a, const void *b)
{
    return strcmp(((const enrollment_member_t *)a)->id, ((const enrollment_member_t *)b)->id);
}

static int s_members(s_reader_t *reader, yaml_node_t *list, enrollment_t *self)
{
    if (list->type != YAML_SEQUENCE_NODE)
        return s_fail(reader, list->start_mark, SETTLE_ERR_SYNTAX, "members: expected a list");
    size_t count = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (count > ENROLLMENT_MEMBERS_MAX)
        return s_fail(reader, list->start_mark, SETTLE_ERR_TOO_MANY, "too many members");
    self->members = settle_calloc(count ? count : 1, sizeof *self->members);
    if (!self->members)
        return s_fail(reader, list->start_mark, SETTLE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *node = s_node(reader, list->data.sequence.items.start[i]);
        if (!node)
            return s_fail(reader, list->start_mark, SETTLE_ERR_TOO_MANY, "file too large");
        int rc = s_member(reader, node, &self->members[i]);
        if (rc != SETTLE_OK)
            return rc;
        self->count++;
    }
    qsort(self->members, self->count, sizeof *self->members, s_member_order);
    for (size_t i = 1; i < self->count; i++)
        if (strcmp(self->members[i].id, self->members[i - 1].id) == 0)
            return s_fail(reader, list->start_mark, SETTLE_ERR_INVALID,
                          "member \"%s\" listed twice", self->members[i].id);
    return SETTLE_OK;
}

static int s_document(s_reader_t *reader, enrollment_t *self)
{
    yaml_node_t *root = yaml_document_get_root_node(&reader->document);
    yaml_mark_t start = {0, 0, 0};
    if (!root || root->type != YAML_MAPPING_NODE)
        return s_fail(reader, root ? root->start_mark : start, SETTLE_ERR_SYNTAX,
                      "expected a mapping with the key \"members\"");
    yaml_node_t *members = NULL;
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = s_node(reader, pair->key);
        if (!key || !s_is(key, "members") || members)
            return s_fail(reader, key ? key->start_mark : start, SETTLE_ERR_UNKNOWN_KEY,
                          "unknown or repeated key; expected \"members\" once");
        members = s_node(reader, pair->value);
    }
    if (!members)
        return s_fail(reader, root->start_mark, SETTLE_ERR_MISSING,
                      "missing required key \"members\"");
    return s_members(reader, members, self);
}

int enrollment_load_text(const char *text, size_t length, const char *file,
                         enrollment_t **enrollment_out, settle_error_t *error)
{
    settle_error_t local;
    s_reader_t reader = {.file = file ? file : "", .error = error ? error : &local};
    yaml_mark_t start = {0, 0, 0};
    settle_error_clear(reader.error);
    enrollment_t *self = settle_calloc(1, sizeof *self);
    if (!self)
        return s_fail(&reader, start, SETTLE_ERR_NOMEM, "out of memory");
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        settle_free(self);
        return s_fail(&reader, start, SETTLE_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    int rc;
    if (!yaml_parser_load(&parser, &reader.document)) {
        rc =
            s_fail(&reader, parser.problem ? parser.problem_mark : parser.context_mark,
                   SETTLE_ERR_SYNTAX, "YAML: %s", parser.problem ? parser.problem : "bad document");
    } else {
        rc = s_document(&reader, self);
        yaml_document_delete(&reader.document);
    }
    yaml_parser_delete(&parser);
    if (rc != SETTLE_OK) {
        enrollment_destroy(&self);
        return rc;
    }
    *enrollment_out = self;
    return SETTLE_OK;
}

int enrollment_from_members(const enrollment_member_t *members, size_t count,
                            enrollment_t **enrollment_out)
{
    if (count > ENROLLMENT_MEMBERS_MAX)
        return SETTLE_ERR_TOO_MANY;
    enrollment_t *self = settle_calloc(1, sizeof *self);
    if (self)
        self->members = settle_malloc((count ? count : 1) * sizeof *self->members);
    if (!self || !self->members) {
        enrollment_destroy(&self);
        return SETTLE_ERR_NOMEM;
    }
    if (count)
        memcpy(self->members, members, count * sizeof *members);
    self->count = self->capacity = count;
    qsort(self->members, self->count, sizeof *self->members, s_member_order);
    for (size_t i = 1; i < self->count; i++)
        if (strcmp(self->members[i].id, self->members[i - 1].id) == 0) {
            enrollment_destroy(&self);
            return SETTLE_ERR_INVALID;
        }
    *enrollment_out = self;
    return SETTLE_OK;
}

void enrollment_destroy(enrollment_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    settle_free((*self_p)->members);
    settle_free(*self_p);
    *self_p = NULL;
}

const enrollment_member_t *enrollment_find(const enrollment_t *self, const char *member_id)
{
    size_t low = 0, high = self->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(self->members[middle].id, member_id);
        if (order == 0)
            return &self->members[middle];
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

size_t enrollment_count(const enrollment_t *self)
{
    return self->count;
}

const enrollment_member_t *enrollment_member(const enrollment_t *self, size_t index)
{
    return index < self->count ? &self->members[index] : NULL;
}
