/*
 * contract_load.c - compiles a YAML plan contract into a contract_t.
 *
 * libyaml's document API builds the node tree; the loader walks it with one
 * table of keys per mapping, so an unknown key, a missing required key and
 * a key given twice are caught in one place.  A bad value is reported with
 * the node's line and column and the walk goes on, so one run of
 * `settle check-contract` lists every problem, not only the first.  Out of
 * memory stops the walk at once.
 *
 * The language is described in contracts/README.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "contract_internal.h"
#include "settle/alloc.h"
#include "settle/date.h"
#include "settle/money.h"

#define LOADER_KEYS_MAX 32 /* keys per mapping table: the seen-set is a bit mask */
#define COUNT_MAX       1000000000LL

typedef struct s_loader s_loader_t;
typedef int (*s_handler_fn)(s_loader_t *loader, yaml_node_t *value, void *target);

typedef struct {
    const char *name;
    s_handler_fn handler;
    bool required;
} s_key_t;

struct s_loader {
    yaml_document_t document;
    const char *file;
    settle_error_t *error;
    contract_report_fn report;
    void *report_context;
    unsigned problems;
    int first_code;
    bool out_of_memory;
    uint32_t visits;
    contract_t *contract;
    const char *text; /* the source, to place errors inside rule expressions */
    size_t length;
};

/* ------------------------------------------------------------------------
 * Problems
 * ------------------------------------------------------------------------ */

static int s_problem_at(s_loader_t *loader, yaml_mark_t mark, int code, const char *expected,
                        const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Records one problem at a YAML position; always returns -1. */
static int s_problem_at(s_loader_t *loader, yaml_mark_t mark, int code, const char *expected,
                        const char *format, ...)
{
    settle_error_t problem;
    char message[SETTLE_ERROR_MESSAGE_SIZE];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    settle_error_clear(&problem);
    settle_error_file(&problem, loader->file);
    settle_error_at_line(&problem, (uint32_t)mark.line + 1, (uint32_t)mark.column + 1);
    settle_error_set(&problem, code, "%s", message);
    if (expected)
        settle_error_expect(&problem, "%s", expected);
    if (loader->problems == 0) {
        loader->first_code = code;
        if (loader->error)
            *loader->error = problem;
    }
    if (code == SETTLE_ERR_NOMEM)
        loader->out_of_memory = true;
    loader->problems++;
    if (loader->report)
        loader->report(&problem, loader->report_context);
    return -1;
}

#define S_PROBLEM(loader, node, code, expected, ...)                                               \
    s_problem_at((loader), (node)->start_mark, (code), (expected), __VA_ARGS__)

/* Grows an array by one zeroed element; NULL (and a problem) when out of memory. */
static void *s_append(s_loader_t *loader, yaml_node_t *node, void **array, uint32_t *count,
                      uint32_t *capacity, size_t size)
{
    if (*count == *capacity) {
        uint32_t grown = *capacity ? *capacity * 2 : 8;
        void *bigger = settle_realloc(*array, (size_t)grown * size);
        if (!bigger) {
            S_PROBLEM(loader, node, SETTLE_ERR_NOMEM, NULL, "out of memory");
            return NULL;
        }
        *array = bigger;
        *capacity = grown;
    }
    char *element = (char *)*array + (size_t)(*count)++ * size;
    memset(element, 0, size);
    return element;
}

#define S_APPEND(loader, node, name)                                                               \
    s_append((loader), (node), (void **)&(loader)->contract->name,                                 \
             &(loader)->contract->name##_count, &(loader)->contract->name##_capacity,             \
             sizeof *(loader)->contract->name)

/* ------------------------------------------------------------------------
 * Nodes and scalars
 * ------------------------------------------------------------------------ */

static yaml_node_t *s_node(s_loader_t *loader, int index)
{
    loader->visits++;
    return yaml_document_get_node(&loader->document, index);
}

static int s_scalar(s_loader_t *loader, yaml_node_t *node, const char **text_out,
                    size_t *length_out)
{
    if (node->type != YAML_SCALAR_NODE)
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a single value",
                         "expected a value, found a %s",
                         node->type == YAML_MAPPING_NODE ? "mapping" : "list");
    *text_out = (const char *)node->data.scalar.value;
    *length_out = node->data.scalar.length;
    return 0;
}

static int s_text(s_loader_t *loader, yaml_node_t *node, char *field, size_t size)
{
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (length == 0 || length >= size)
        return S_PROBLEM(loader, node, SETTLE_ERR_TOO_LONG, NULL,
                         "\"%.*s\" must be 1 to %zu characters", (int)(length > 40 ? 40 : length),
                         text, size - 1);
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
            return S_PROBLEM(loader, node, SETTLE_ERR_INVALID, "printable ASCII",
                             "non-ASCII character in \"%.*s\"", (int)length, text);
    memcpy(field, text, length);
    field[length] = '\0';
    return 0;
}

static int s_amount(s_loader_t *loader, yaml_node_t *node, int64_t *cents_out)
{
    const char *text = NULL;
    size_t length = 0;
    int64_t cents;
    if (s_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (money_parse(text, length, &cents) != SETTLE_OK || cents < 0)
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "an amount such as \"500.00\"",
                         "bad amount \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    *cents_out = cents;
    return 0;
}

static int s_rate(s_loader_t *loader, yaml_node_t *node, int32_t *bps_out)
{
    const char *text = NULL;
    size_t length = 0;
    int32_t bps;
    if (s_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (money_parse_rate(text, length, &bps) != SETTLE_OK || bps > 100 * 10000)
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a percentage such as \"20%\"",
                         "bad percentage \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    *bps_out = bps;
    return 0;
}

static int s_date(s_loader_t *loader, yaml_node_t *node, int32_t *days_out)
{
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (date_parse_iso(text, length, days_out) != SETTLE_OK)
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a date CCYY-MM-DD",
                         "bad date \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    return 0;
}

static int s_count(s_loader_t *loader, yaml_node_t *node, int64_t *count_out)
{
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(loader, node, &text, &length) != 0)
        return -1;
    int64_t value = 0;
    for (size_t i = 0; i < length && value <= COUNT_MAX; i++) {
        if (text[i] < '0' || text[i] > '9') {
            value = -1;
            break;
        }
        value = value * 10 + (text[i] - '0');
    }
    if (length == 0 || value < 0 || value > COUNT_MAX)
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a whole number",
                         "bad number \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    *count_out = value;
    return 0;
}

static int s_bool(s_loader_t *loader, yaml_node_t *node, bool *value_out)
{
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (length == 4 && memcmp(text, "true", 4) == 0)
        *value_out = true;
    else if (length == 5 && memcmp(text, "false", 5) == 0)
        *value_out = false;
    else
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "true or false", "bad flag \"%.*s\"",
                         (int)(length > 40 ? 40 : length), text);
    return 0;
}

/* A procedure code: 1 to 15 letters and digits. */
static bool s_code_ok(const char *text, size_t length)
{
    if (length == 0 || length >= CONTRACT_CODE_SIZE)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Mappings and lists
 * ------------------------------------------------------------------------ */

static int s_walk_map(s_loader_t *loader, yaml_node_t *node, const s_key_t *keys,
                      size_t key_count, void *target, const char *where)
{
    if (node->type != YAML_MAPPING_NODE)
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a mapping of keys",
                         "%s: expected a mapping", where);
    unsigned before = loader->problems;
    uint32_t seen = 0;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top && !loader->out_of_memory; pair++) {
        yaml_node_t *key = s_node(loader, pair->key), *value = s_node(loader, pair->value);
        const char *name = NULL;
        size_t length = 0;
        if (!key || !value || loader->visits > CONTRACT_NODES_MAX)
            return S_PROBLEM(loader, node, SETTLE_ERR_TOO_MANY, NULL, "contract too large");
        if (s_scalar(loader, key, &name, &length) != 0)
            continue;
        size_t k = 0;
        while (k < key_count && !(strlen(keys[k].name) == length &&
                                  memcmp(keys[k].name, name, length) == 0))
            k++;
        if (k == key_count)
            S_PROBLEM(loader, key, SETTLE_ERR_UNKNOWN_KEY, NULL, "unknown key \"%.*s\" in %s",
                      (int)(length > 40 ? 40 : length), name, where);
        else if (seen & (1u << k))
            S_PROBLEM(loader, key, SETTLE_ERR_INVALID, NULL, "key \"%s\" given twice in %s",
                      keys[k].name, where);
        else {
            seen |= 1u << k;
            keys[k].handler(loader, value, target);
        }
    }
    for (size_t k = 0; k < key_count && !loader->out_of_memory; k++)
        if (keys[k].required && !(seen & (1u << k)))
            S_PROBLEM(loader, node, SETTLE_ERR_MISSING, NULL, "missing required key \"%s\" in %s",
                      keys[k].name, where);
    return loader->problems == before ? 0 : -1;
}

/* Calls each for every item of a list (a lone value counts as a list of one). */
static int s_each_item(s_loader_t *loader, yaml_node_t *node, s_handler_fn each, void *target)
{
    if (node->type == YAML_SCALAR_NODE)
        return each(loader, node, target);
    if (node->type != YAML_SEQUENCE_NODE)
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a list", "expected a list");
    unsigned before = loader->problems;
    for (yaml_node_item_t *item = node->data.sequence.items.start;
         item < node->data.sequence.items.top && !loader->out_of_memory; item++) {
        yaml_node_t *value = s_node(loader, *item);
        if (!value || loader->visits > CONTRACT_NODES_MAX)
            return S_PROBLEM(loader, node, SETTLE_ERR_TOO_MANY, NULL, "contract too large");
        each(loader, value, target);
    }
    return loader->problems == before ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Code lists: "99213", "99202-99215", "*"
 * ------------------------------------------------------------------------ */

static int s_code_item(s_loader_t *loader, yaml_node_t *node, void *target)
{
    contract_codes_t *codes = target;
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (length == 1 && text[0] == '*') {
        codes->any = true;
        return 0;
    }
    const char *dash = memchr(text, '-', length);
    size_t low_length = dash ? (size_t)(dash - text) : length;
    const char *high = dash ? dash + 1 : text;
    size_t high_length = dash ? length - low_length - 1 : length;
    if (!s_code_ok(text, low_length) || !s_code_ok(high, high_length) ||
        low_length != high_length || memcmp(text, high, low_length) > 0)
        return S_PROBLEM(loader, node, SETTLE_ERR_SYNTAX,
                         "a code, a range LOW-HIGH of codes of one length, or \"*\"",
                         "malformed code or code range \"%.*s\"",
                         (int)(length > 40 ? 40 : length), text);
    contract_range_t *range = S_APPEND(loader, node, ranges);
    if (!range)
        return -1;
    memcpy(range->low, text, low_length);
    memcpy(range->high, high, high_length);
    range->low_key = contract_code_key(range->low);
    range->high_key = contract_code_key(range->high);
    range->line = (uint32_t)node->start_mark.line + 1;
    range->column = (uint32_t)node->start_mark.column + 1;
    codes->count++;
    return 0;
}

static int s_range_order(const void *a, const void *b)
{
    const contract_range_t *x = a, *y = b;
    int order = contract_code_compare(x->low, y->low);
    if (order == 0)
        order = x->line != y->line ? (x->line < y->line ? -1 : 1)
                                   : (x->column < y->column ? -1 : x->column > y->column);
    return order;
}

/* Reads a code list into the range pool, sorted, and checks that no two
 * of its ranges overlap (first-match order is between benefits, never
 * within one list, so an overlap there is always a mistake). */
static int s_codes(s_loader_t *loader, yaml_node_t *node, contract_codes_t *codes)
{
    codes->first = loader->contract->ranges_count;
    codes->count = 0;
    codes->any = false;
    if (s_each_item(loader, node, s_code_item, codes) != 0)
        return -1;
    if (codes->count == 0 && !codes->any)
        return S_PROBLEM(loader, node, SETTLE_ERR_MISSING, "at least one code",
                         "empty code list");
    if (codes->count < 2)
        return 0;
    contract_range_t *ranges = loader->contract->ranges + codes->first;
    qsort(ranges, codes->count, sizeof *ranges, s_range_order);
    int rc = 0;
    for (uint32_t i = 1; i < codes->count; i++) {
        if (contract_code_compare(ranges[i - 1].high, ranges[i].low) >= 0) {
            yaml_mark_t mark = {0, ranges[i].line - 1, ranges[i].column - 1};
            rc = s_problem_at(loader, mark, SETTLE_ERR_RANGE, NULL,
                              "code range %s-%s overlaps %s-%s", ranges[i].low, ranges[i].high,
                              ranges[i - 1].low, ranges[i - 1].high);
        }
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * Header: contract, version, payer, effective, period, timely filing
 * ------------------------------------------------------------------------ */

static int s_key_contract(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_text(l, v, l->contract->id, sizeof l->contract->id);
}
static int s_key_version(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_text(l, v, l->contract->version, sizeof l->contract->version);
}
static int s_key_payer(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_text(l, v, l->contract->payer, sizeof l->contract->payer);
}
static int s_key_from(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_date(l, v, &l->contract->effective_from);
}
static int s_key_to(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_date(l, v, &l->contract->effective_to);
}

static int s_key_effective(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"from", s_key_from, true}, {"to", s_key_to, false}};
    if (s_walk_map(l, v, keys, 2, NULL, "effective") != 0)
        return -1;
    if (l->contract->effective_to < l->contract->effective_from)
        return S_PROBLEM(l, v, SETTLE_ERR_RANGE, NULL, "effective: \"to\" is before \"from\"");
    return 0;
}

/* The accumulator period; calendar years are the only kind so far. */
static int s_period(s_loader_t *l, yaml_node_t *v)
{
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(l, v, &text, &length) != 0)
        return -1;
    if (length != 13 || memcmp(text, "calendar-year", 13) != 0)
        return S_PROBLEM(l, v, SETTLE_ERR_INVALID, "calendar-year", "unknown period \"%.*s\"",
                         (int)(length > 40 ? 40 : length), text);
    return 0;
}

static int s_key_period(s_loader_t *l, yaml_node_t *v, void *t) { return s_period(l, v); }

static int s_key_timely(s_loader_t *l, yaml_node_t *v, void *t)
{
    int64_t days;
    if (s_count(l, v, &days) != 0)
        return -1;
    if (days > 36600)
        return S_PROBLEM(l, v, SETTLE_ERR_RANGE, "at most 36600 days",
                         "timely_filing_days too large");
    l->contract->timely_filing_days = (int32_t)days;
    return 0;
}

/* ------------------------------------------------------------------------
 * Accumulators and network
 * ------------------------------------------------------------------------ */

static int s_key_individual(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_amount(l, v, &((int64_t *)t)[0]);
}
static int s_key_family(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_amount(l, v, &((int64_t *)t)[1]);
}

static int s_pair(s_loader_t *l, yaml_node_t *v, int64_t *individual, int64_t *family,
                  const char *where)
{
    static const s_key_t keys[] = {{"individual", s_key_individual, true},
                                   {"family", s_key_family, false}};
    int64_t pair[2] = {*individual, *family};
    if (s_walk_map(l, v, keys, 2, pair, where) != 0)
        return -1;
    *individual = pair[0];
    *family = pair[1];
    return 0;
}

static int s_key_deductible_pair(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_pair(l, v, &l->contract->deductible_cents_individual,
                  &l->contract->deductible_cents_family, "accumulators.deductible");
}
static int s_key_oop_pair(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_pair(l, v, &l->contract->oop_cents_individual, &l->contract->oop_cents_family,
                  "accumulators.out_of_pocket");
}

static int s_key_accumulators(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"deductible", s_key_deductible_pair, false},
                                   {"out_of_pocket", s_key_oop_pair, false}};
    return s_walk_map(l, v, keys, 2, NULL, "accumulators");
}

static int s_key_coinsurance_network(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_rate(l, v, &((contract_network_t *)t)->coinsurance_bps);
}
static int s_key_multiplier(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_rate(l, v, &((contract_network_t *)t)->multiplier_bps);
}

static int s_provider_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    char npi[CLAIM_NPI_SIZE];
    if (s_text(l, v, npi, sizeof npi) != 0)
        return -1;
    for (size_t i = 0; i < 10; i++)
        if (npi[i] < '0' || npi[i] > '9')
            return S_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "an NPI of ten digits", "bad NPI \"%s\"",
                             npi);
    contract_t *c = l->contract;
    if (c->providers_count == c->providers_capacity) {
        uint32_t grown = c->providers_capacity ? c->providers_capacity * 2 : 16;
        char *bigger = settle_realloc(c->providers, (size_t)grown * CLAIM_NPI_SIZE);
        if (!bigger)
            return S_PROBLEM(l, v, SETTLE_ERR_NOMEM, NULL, "out of memory");
        c->providers = bigger;
        c->providers_capacity = grown;
    }
    memcpy(c->providers + (size_t)c->providers_count++ * CLAIM_NPI_SIZE, npi, CLAIM_NPI_SIZE);
    return 0;
}

static int s_key_providers(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_each_item(l, v, s_provider_item, NULL);
}

static int s_key_network_in(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"coinsurance", s_key_coinsurance_network, true},
                                   {"multiplier", s_key_multiplier, false},
                                   {"providers", s_key_providers, false}};
    return s_walk_map(l, v, keys, 3, &l->contract->network_in, "network.in");
}

static int s_key_network_out(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"coinsurance", s_key_coinsurance_network, true},
                                   {"multiplier", s_key_multiplier, false}};
    return s_walk_map(l, v, keys, 2, &l->contract->network_out, "network.out");
}

static int s_key_network(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"in", s_key_network_in, true},
                                   {"out", s_key_network_out, false}};
    return s_walk_map(l, v, keys, 2, NULL, "network");
}

/* ------------------------------------------------------------------------
 * Fee schedule
 * ------------------------------------------------------------------------ */

static int s_key_percent_of_billed(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_rate(l, v, &l->contract->percent_of_billed_bps);
}

static int s_fee_entry(s_loader_t *l, yaml_node_t *key, yaml_node_t *value)
{
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(l, key, &text, &length) != 0)
        return -1;
    if (length == 7 && memcmp(text, "default", 7) == 0) {
        static const s_key_t keys[] = {{"percent_of_billed", s_key_percent_of_billed, true}};
        return s_walk_map(l, value, keys, 1, NULL, "fee_schedule.default");
    }
    const char *colon = memchr(text, ':', length);
    size_t code_length = colon ? (size_t)(colon - text) : length;
    size_t modifier_length = colon ? length - code_length - 1 : 0;
    if (!s_code_ok(text, code_length) || (colon && (modifier_length == 0 ||
                                                    modifier_length >= CLAIM_MODIFIER_SIZE ||
                                                    !s_code_ok(colon + 1, modifier_length))))
        return S_PROBLEM(l, key, SETTLE_ERR_SYNTAX, "CODE or CODE:MODIFIER",
                         "bad fee schedule code \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    contract_fee_t *fee = S_APPEND(l, key, fees);
    if (!fee)
        return -1;
    memcpy(fee->code, text, code_length);
    if (colon)
        memcpy(fee->modifier, colon + 1, modifier_length);
    fee->code_key = contract_code_key(fee->code);
    fee->line = (uint32_t)key->start_mark.line + 1;
    fee->column = (uint32_t)key->start_mark.column + 1;
    return s_amount(l, value, &fee->cents_per_unit);
}

static int s_fee_order(const void *a, const void *b)
{
    const contract_fee_t *x = a, *y = b;
    int order = contract_code_compare(x->code, y->code);
    if (!order)
        order = strcmp(x->modifier, y->modifier);
    if (!order)
        order = x->line != y->line ? (x->line < y->line ? -1 : 1) : 0;
    return order;
}

static int s_key_fee_schedule(s_loader_t *l, yaml_node_t *v, void *t)
{
    if (v->type != YAML_MAPPING_NODE)
        return S_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a mapping of codes to amounts",
                         "fee_schedule: expected a mapping");
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start;
         pair < v->data.mapping.pairs.top && !l->out_of_memory; pair++) {
        yaml_node_t *key = s_node(l, pair->key), *value = s_node(l, pair->value);
        if (!key || !value || l->visits > CONTRACT_NODES_MAX)
            return S_PROBLEM(l, v, SETTLE_ERR_TOO_MANY, NULL, "contract too large");
        s_fee_entry(l, key, value);
    }
    contract_t *c = l->contract;
    if (c->fees_count > 1)
        qsort(c->fees, c->fees_count, sizeof *c->fees, s_fee_order);
    for (uint32_t i = 1; i < c->fees_count; i++)
        if (contract_code_compare(c->fees[i].code, c->fees[i - 1].code) == 0 &&
            strcmp(c->fees[i].modifier, c->fees[i - 1].modifier) == 0) {
            yaml_mark_t mark = {0, c->fees[i].line - 1, c->fees[i].column - 1};
            s_problem_at(l, mark, SETTLE_ERR_INVALID, NULL, "fee for \"%s%s%s\" given twice",
                         c->fees[i].code, c->fees[i].modifier[0] ? ":" : "",
                         c->fees[i].modifier);
        }
    return 0;
}

/* ------------------------------------------------------------------------
 * Benefits
 * ------------------------------------------------------------------------ */

static int s_key_benefit_name(s_loader_t *l, yaml_node_t *v, void *t)
{
    contract_benefit_t *benefit = t;
    if (s_text(l, v, benefit->name, sizeof benefit->name) != 0)
        return -1;
    for (contract_benefit_t *other = l->contract->benefits; other < benefit; other++)
        if (strcmp(other->name, benefit->name) == 0)
            return S_PROBLEM(l, v, SETTLE_ERR_INVALID, NULL, "benefit \"%s\" named twice",
                             benefit->name);
    return 0;
}
static int s_key_benefit_codes(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_codes(l, v, &((contract_benefit_t *)t)->codes);
}
static int s_key_copay(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_amount(l, v, &((contract_benefit_t *)t)->copay_cents);
}
static int s_key_benefit_coinsurance(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_rate(l, v, &((contract_benefit_t *)t)->coinsurance_bps);
}
static int s_key_benefit_deductible(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_bool(l, v, &((contract_benefit_t *)t)->deductible);
}
static int s_key_prior_auth(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_bool(l, v, &((contract_benefit_t *)t)->prior_auth);
}
static int s_key_limit_units(s_loader_t *l, yaml_node_t *v, void *t)
{
    int64_t units;
    if (s_count(l, v, &units) != 0)
        return -1;
    ((contract_benefit_t *)t)->limit_units_milli = units * CLAIM_UNITS_MILLI_PER_UNIT;
    return 0;
}
static int s_key_limit_per(s_loader_t *l, yaml_node_t *v, void *t) { return s_period(l, v); }

static int s_key_limit(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"units", s_key_limit_units, true},
                                   {"per", s_key_limit_per, false}};
    return s_walk_map(l, v, keys, 2, t, "benefit limit");
}

static int s_benefit_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {
        {"name", s_key_benefit_name, true},    {"codes", s_key_benefit_codes, true},
        {"copay", s_key_copay, false},         {"coinsurance", s_key_benefit_coinsurance, false},
        {"deductible", s_key_benefit_deductible, false},
        {"prior_auth", s_key_prior_auth, false}, {"limit", s_key_limit, false}};
    contract_benefit_t *benefit = S_APPEND(l, v, benefits);
    if (!benefit)
        return -1;
    benefit->coinsurance_bps = CONTRACT_RATE_NONE;
    benefit->deductible = true;
    benefit->limit_units_milli = CONTRACT_UNLIMITED;
    return s_walk_map(l, v, keys, sizeof keys / sizeof keys[0], benefit, "benefit");
}

static int s_key_benefits(s_loader_t *l, yaml_node_t *v, void *t)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return S_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a list of benefits",
                         "benefits: expected a list");
    return s_each_item(l, v, s_benefit_item, NULL);
}

/* ------------------------------------------------------------------------
 * Exclusions
 * ------------------------------------------------------------------------ */

static int s_reason(s_loader_t *l, yaml_node_t *v, char *reason)
{
    if (s_text(l, v, reason, CONTRACT_REASON_SIZE) != 0)
        return -1;
    if (!contract_reason_text(reason))
        return S_PROBLEM(l, v, SETTLE_ERR_NOT_FOUND, "a CARC listed in contracts/README.md",
                         "unknown reason code \"%s\"", reason);
    return 0;
}

static int s_key_exclusion_codes(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_codes(l, v, &((contract_exclusion_t *)t)->codes);
}
static int s_key_exclusion_reason(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_reason(l, v, ((contract_exclusion_t *)t)->reason);
}

static int s_exclusion_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"codes", s_key_exclusion_codes, true},
                                   {"reason", s_key_exclusion_reason, true}};
    contract_exclusion_t *exclusion = S_APPEND(l, v, exclusions);
    if (!exclusion)
        return -1;
    return s_walk_map(l, v, keys, 2, exclusion, "exclusion");
}

static int s_key_exclusions(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_each_item(l, v, s_exclusion_item, NULL);
}

/* ------------------------------------------------------------------------
 * Edits
 * ------------------------------------------------------------------------ */

static int s_key_primary(s_loader_t *l, yaml_node_t *v, void *t)
{
    contract_bundle_t *bundle = t;
    if (s_text(l, v, bundle->primary, sizeof bundle->primary) != 0)
        return -1;
    if (!s_code_ok(bundle->primary, strlen(bundle->primary)))
        return S_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a procedure code", "bad code \"%s\"",
                         bundle->primary);
    return 0;
}
static int s_key_includes(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_codes(l, v, &((contract_bundle_t *)t)->included);
}

static int s_bundle_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"primary", s_key_primary, true},
                                   {"includes", s_key_includes, true}};
    contract_bundle_t *bundle = S_APPEND(l, v, bundles);
    if (!bundle)
        return -1;
    return s_walk_map(l, v, keys, 2, bundle, "bundle");
}

static int s_key_bundles(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_each_item(l, v, s_bundle_item, NULL);
}

static int s_daily_max_order(const void *a, const void *b)
{
    const contract_daily_max_t *x = a, *y = b;
    int order = contract_code_compare(x->code, y->code);
    return order ? order : (x->line < y->line ? -1 : x->line > y->line);
}

static int s_key_max_units(s_loader_t *l, yaml_node_t *v, void *t)
{
    if (v->type != YAML_MAPPING_NODE)
        return S_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a mapping of codes to units",
                         "max_units_per_day: expected a mapping");
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start;
         pair < v->data.mapping.pairs.top && !l->out_of_memory; pair++) {
        yaml_node_t *key = s_node(l, pair->key), *value = s_node(l, pair->value);
        if (!key || !value || l->visits > CONTRACT_NODES_MAX)
            return S_PROBLEM(l, v, SETTLE_ERR_TOO_MANY, NULL, "contract too large");
        contract_daily_max_t *entry = S_APPEND(l, key, daily_maxima);
        int64_t units;
        if (!entry || s_text(l, key, entry->code, sizeof entry->code) != 0 ||
            s_count(l, value, &units) != 0)
            continue;
        entry->units_milli_max = units * CLAIM_UNITS_MILLI_PER_UNIT;
        entry->code_key = contract_code_key(entry->code);
        entry->line = (uint32_t)key->start_mark.line + 1;
        entry->column = (uint32_t)key->start_mark.column + 1;
    }
    contract_t *c = l->contract;
    if (c->daily_maxima_count > 1)
        qsort(c->daily_maxima, c->daily_maxima_count, sizeof *c->daily_maxima, s_daily_max_order);
    for (uint32_t i = 1; i < c->daily_maxima_count; i++)
        if (contract_code_compare(c->daily_maxima[i].code, c->daily_maxima[i - 1].code) == 0) {
            yaml_mark_t mark = {0, c->daily_maxima[i].line - 1, c->daily_maxima[i].column - 1};
            s_problem_at(l, mark, SETTLE_ERR_INVALID, NULL, "daily maximum for \"%s\" given twice",
                         c->daily_maxima[i].code);
        }
    return 0;
}

static int s_key_age_codes(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_codes(l, v, &((contract_age_edit_t *)t)->codes);
}
static int s_key_age_min(s_loader_t *l, yaml_node_t *v, void *t)
{
    int64_t years;
    if (s_count(l, v, &years) != 0 || years > 200)
        return years > 200 ? S_PROBLEM(l, v, SETTLE_ERR_RANGE, "0 to 200", "age out of range")
                           : -1;
    ((contract_age_edit_t *)t)->age_years_min = (int32_t)years;
    return 0;
}
static int s_key_age_max(s_loader_t *l, yaml_node_t *v, void *t)
{
    int64_t years;
    if (s_count(l, v, &years) != 0 || years > 200)
        return years > 200 ? S_PROBLEM(l, v, SETTLE_ERR_RANGE, "0 to 200", "age out of range")
                           : -1;
    ((contract_age_edit_t *)t)->age_years_max = (int32_t)years;
    return 0;
}

static int s_age_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"codes", s_key_age_codes, true},
                                   {"min", s_key_age_min, false},
                                   {"max", s_key_age_max, false}};
    contract_age_edit_t *edit = S_APPEND(l, v, age_edits);
    if (!edit)
        return -1;
    edit->age_years_max = INT32_MAX;
    if (s_walk_map(l, v, keys, 3, edit, "age edit") != 0)
        return -1;
    if (edit->age_years_max < edit->age_years_min)
        return S_PROBLEM(l, v, SETTLE_ERR_RANGE, NULL, "age edit: max is below min");
    return 0;
}

static int s_key_age(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_each_item(l, v, s_age_item, NULL);
}

static int s_key_sex_codes(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_codes(l, v, &((contract_sex_edit_t *)t)->codes);
}
static int s_key_sex_only(s_loader_t *l, yaml_node_t *v, void *t)
{
    char sex[2];
    if (s_text(l, v, sex, sizeof sex) != 0 || (sex[0] != 'F' && sex[0] != 'M'))
        return S_PROBLEM(l, v, SETTLE_ERR_INVALID, "F or M", "bad sex");
    ((contract_sex_edit_t *)t)->sex = sex[0];
    return 0;
}

static int s_sex_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"codes", s_key_sex_codes, true},
                                   {"only", s_key_sex_only, true}};
    contract_sex_edit_t *edit = S_APPEND(l, v, sex_edits);
    return edit ? s_walk_map(l, v, keys, 2, edit, "sex edit") : -1;
}

static int s_key_sex(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_each_item(l, v, s_sex_item, NULL);
}

/* "M54.*" -> prefix "M54"; "M54.5" -> exact "M545"; the dot is dropped
 * because claims carry diagnosis codes without it. */
static int s_pattern_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    contract_diagnosis_edit_t *edit = t;
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(l, v, &text, &length) != 0)
        return -1;
    char pattern[CONTRACT_PATTERN_SIZE];
    size_t used = 0;
    bool prefix = false, ok = length > 0;
    for (size_t i = 0; i < length && ok; i++) {
        char c = text[i];
        if (c == '*' && i == length - 1 && used > 0)
            prefix = true;
        else if (c == '.' && i >= 3)
            continue;
        else if (((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) &&
                 used + 1 < sizeof pattern)
            pattern[used++] = c;
        else
            ok = false;
    }
    if (!ok || used == 0)
        return S_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "an ICD-10 code such as \"M54.5\" or \"M54.*\"",
                         "bad diagnosis pattern \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    contract_pattern_t *entry = S_APPEND(l, v, patterns);
    if (!entry)
        return -1;
    memcpy(entry->text, pattern, used);
    entry->prefix = prefix;
    edit->pattern_count++;
    return 0;
}

static int s_key_dx_codes(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_codes(l, v, &((contract_diagnosis_edit_t *)t)->codes);
}
static int s_key_dx_diagnoses(s_loader_t *l, yaml_node_t *v, void *t)
{
    contract_diagnosis_edit_t *edit = t;
    edit->pattern_first = l->contract->patterns_count;
    return s_each_item(l, v, s_pattern_item, edit);
}

static int s_dx_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"codes", s_key_dx_codes, true},
                                   {"diagnoses", s_key_dx_diagnoses, true}};
    contract_diagnosis_edit_t *edit = S_APPEND(l, v, diagnosis_edits);
    return edit ? s_walk_map(l, v, keys, 2, edit, "diagnosis_required edit") : -1;
}

static int s_key_dx(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_each_item(l, v, s_dx_item, NULL);
}

static int s_key_edits(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"bundles", s_key_bundles, false},
                                   {"max_units_per_day", s_key_max_units, false},
                                   {"age", s_key_age, false},
                                   {"sex", s_key_sex, false},
                                   {"diagnosis_required", s_key_dx, false}};
    return s_walk_map(l, v, keys, sizeof keys / sizeof keys[0], NULL, "edits");
}

/* ------------------------------------------------------------------------
 * Custom rules: {name, when: EXPRESSION, then: {copay|coinsurance|deductible|deny}}
 * ------------------------------------------------------------------------ */

static int s_key_rule_name(s_loader_t *l, yaml_node_t *v, void *t)
{
    contract_rule_t *rule = t;
    return s_text(l, v, rule->name, sizeof rule->name);
}

/* Compiles the expression; an error points at its token in the file. */
static int s_key_rule_when(s_loader_t *l, yaml_node_t *v, void *t)
{
    const char *text = NULL;
    size_t length = 0;
    if (s_scalar(l, v, &text, &length) != 0)
        return -1;
    contract_rule_problem_t problem;
    int rc = contract_rule_compile(&l->contract->rule_program, text, length,
                                   &((contract_rule_t *)t)->when, &problem);
    if (rc == SETTLE_OK)
        return 0;
    contract_rule_style_t style = v->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE
                                      ? CONTRACT_RULE_STYLE_SINGLE_QUOTED
                                  : v->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                      ? CONTRACT_RULE_STYLE_DOUBLE_QUOTED
                                  : v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                                      ? CONTRACT_RULE_STYLE_PLAIN
                                      : CONTRACT_RULE_STYLE_BLOCK;
    uint32_t line, column;
    contract_rule_source_position(l->text, l->length, (uint32_t)v->start_mark.line,
                                  (uint32_t)v->start_mark.column, style, problem.offset, &line,
                                  &column);
    yaml_mark_t mark = {0, line, column};
    return s_problem_at(l, mark, rc, NULL, "rule: %s", problem.message);
}

static int s_key_then_copay(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_amount(l, v, &((contract_rule_t *)t)->copay_cents);
}
static int s_key_then_coinsurance(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_rate(l, v, &((contract_rule_t *)t)->coinsurance_bps);
}
static int s_key_then_deductible(s_loader_t *l, yaml_node_t *v, void *t)
{
    bool applies = false;
    if (s_bool(l, v, &applies) != 0)
        return -1;
    ((contract_rule_t *)t)->deductible = applies ? 1 : 0;
    return 0;
}
static int s_key_then_deny(s_loader_t *l, yaml_node_t *v, void *t)
{
    return s_reason(l, v, ((contract_rule_t *)t)->deny);
}

/* A rule either denies or changes cost sharing, never both. */
static int s_key_rule_then(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"copay", s_key_then_copay, false},
                                   {"coinsurance", s_key_then_coinsurance, false},
                                   {"deductible", s_key_then_deductible, false},
                                   {"deny", s_key_then_deny, false}};
    contract_rule_t *rule = t;
    if (s_walk_map(l, v, keys, 4, rule, "rule then") != 0)
        return -1;
    bool shares = rule->copay_cents >= 0 || rule->coinsurance_bps != CONTRACT_RATE_NONE ||
                  rule->deductible >= 0;
    if (!shares && !rule->deny[0])
        return S_PROBLEM(l, v, SETTLE_ERR_MISSING, "copay, coinsurance, deductible or deny",
                         "rule then: nothing to do");
    if (shares && rule->deny[0])
        return S_PROBLEM(l, v, SETTLE_ERR_INVALID, NULL,
                         "rule then: deny cannot be combined with cost sharing");
    return 0;
}

static int s_rule_item(s_loader_t *l, yaml_node_t *v, void *t)
{
    static const s_key_t keys[] = {{"name", s_key_rule_name, false},
                                   {"when", s_key_rule_when, true},
                                   {"then", s_key_rule_then, true}};
    if (l->contract->rules_count == CONTRACT_RULES_MAX)
        return S_PROBLEM(l, v, SETTLE_ERR_TOO_MANY, NULL, "more than %d rules",
                         CONTRACT_RULES_MAX);
    contract_rule_t *rule = S_APPEND(l, v, rules);
    if (!rule)
        return -1;
    rule->copay_cents = -1;
    rule->coinsurance_bps = CONTRACT_RATE_NONE;
    rule->deductible = -1;
    return s_walk_map(l, v, keys, 3, rule, "rule");
}

static int s_key_rules(s_loader_t *l, yaml_node_t *v, void *t)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return S_PROBLEM(l, v, SETTLE_ERR_SYNTAX, "a list of rules", "rules: expected a list");
    return s_each_item(l, v, s_rule_item, NULL);
}

/* ------------------------------------------------------------------------
 * The whole contract
 * ------------------------------------------------------------------------ */

static const s_key_t s_top_keys[] = {
    {"contract", s_key_contract, true},
    {"version", s_key_version, true},
    {"payer", s_key_payer, true},
    {"effective", s_key_effective, true},
    {"period", s_key_period, false},
    {"timely_filing_days", s_key_timely, false},
    {"accumulators", s_key_accumulators, false},
    {"network", s_key_network, true},
    {"fee_schedule", s_key_fee_schedule, false},
    {"benefits", s_key_benefits, true},
    {"exclusions", s_key_exclusions, false},
    {"edits", s_key_edits, false},
    {"rules", s_key_rules, false},
};

static void s_defaults(contract_t *c)
{
    c->effective_to = INT32_MAX;
    c->timely_filing_days = INT32_MAX;
    c->deductible_cents_family = CONTRACT_UNLIMITED;
    c->oop_cents_individual = CONTRACT_UNLIMITED;
    c->oop_cents_family = CONTRACT_UNLIMITED;
    c->network_in.multiplier_bps = MONEY_BPS_ONE_HUNDRED_PERCENT;
    c->network_out.multiplier_bps = MONEY_BPS_ONE_HUNDRED_PERCENT;
    c->network_out.coinsurance_bps = CONTRACT_RATE_NONE; /* out of network: not covered */
    c->percent_of_billed_bps = MONEY_BPS_ONE_HUNDRED_PERCENT;
}

static int s_npi_order(const void *a, const void *b) { return strcmp(a, b); }

/* Sorts the providers and drops repeats, for bisection. */
static void s_finish_providers(contract_t *c)
{
    if (c->providers_count < 2)
        return;
    qsort(c->providers, c->providers_count, CLAIM_NPI_SIZE, s_npi_order);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->providers_count; i++)
        if (kept == 0 || strcmp(c->providers + (size_t)(kept - 1) * CLAIM_NPI_SIZE,
                                c->providers + (size_t)i * CLAIM_NPI_SIZE) != 0)
            memmove(c->providers + (size_t)kept++ * CLAIM_NPI_SIZE,
                    c->providers + (size_t)i * CLAIM_NPI_SIZE, CLAIM_NPI_SIZE);
    c->providers_count = kept;
}

/* Parses the YAML into loader->document; reports a syntax error with its place. */
static int s_parse(s_loader_t *loader, const char *text, size_t length)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        yaml_mark_t none = {0, 0, 0};
        return s_problem_at(loader, none, SETTLE_ERR_NOMEM, NULL, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
    int rc = 0;
    if (!yaml_parser_load(&parser, &loader->document)) {
        yaml_mark_t mark = parser.problem ? parser.problem_mark : parser.context_mark;
        rc = s_problem_at(loader, mark,
                          parser.error == YAML_MEMORY_ERROR ? SETTLE_ERR_NOMEM : SETTLE_ERR_SYNTAX,
                          NULL, "YAML: %s%s%s", parser.problem ? parser.problem : "bad document",
                          parser.context ? " " : "", parser.context ? parser.context : "");
    }
    yaml_parser_delete(&parser);
    return rc;
}

int contract_load_text(const char *text, size_t length, const char *file,
                       contract_t **contract_out, settle_error_t *error,
                       contract_report_fn report, void *report_context)
{
    s_loader_t loader = {.file = file ? file : "", .error = error, .report = report,
                         .report_context = report_context, .text = text, .length = length};
    yaml_mark_t start = {0, 0, 0};
    settle_error_clear(error);
    if (!text || !contract_out)
        return s_problem_at(&loader, start, SETTLE_ERR_INVALID, NULL, "no contract text"),
               SETTLE_ERR_INVALID;
    if (length > CONTRACT_TEXT_SIZE_MAX)
        return s_problem_at(&loader, start, SETTLE_ERR_TOO_LONG, NULL, "contract too large"),
               SETTLE_ERR_TOO_LONG;
    loader.contract = settle_calloc(1, sizeof *loader.contract);
    if (!loader.contract)
        return s_problem_at(&loader, start, SETTLE_ERR_NOMEM, NULL, "out of memory"),
               SETTLE_ERR_NOMEM;
    s_defaults(loader.contract);
    if (s_parse(&loader, text, length) == 0) {
        yaml_node_t *root = yaml_document_get_root_node(&loader.document);
        if (!root)
            s_problem_at(&loader, start, SETTLE_ERR_MISSING, NULL, "empty contract");
        else
            s_walk_map(&loader, root, s_top_keys, sizeof s_top_keys / sizeof s_top_keys[0],
                       NULL, "contract");
        yaml_document_delete(&loader.document);
    }
    if (loader.problems) {
        contract_destroy(&loader.contract);
        return loader.first_code;
    }
    s_finish_providers(loader.contract);
    *contract_out = loader.contract;
    return SETTLE_OK;
}
