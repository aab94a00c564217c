/*
 * contract_yaml.c - the YAML walk the contract loader is built on: problems
 * placed at a node's line and column (the walk goes on after each, so one
 * run lists them all), growing the contract's arrays, reading scalars
 * (text, amounts, percentages, dates, counts, flags), walking a mapping
 * against a table of keys and a list item by item, and code lists
 * ("99213", "99202-99215", "*") read into the sorted range pool.
 *
 * contract_load.c holds the schema: which keys a contract has and what
 * each becomes.  The declarations both share are in contract_internal.h.
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

#define COUNT_MAX 1000000000LL

/* ------------------------------------------------------------------------
 * Problems
 * ------------------------------------------------------------------------ */

/* Records one problem at a YAML position; always returns -1. */
int contract_yaml_problem_at(contract_loader_t *loader, yaml_mark_t mark, int code,
                             const char *expected, const char *format, ...)
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

/* Grows an array by one zeroed element; NULL (and a problem) when out of memory. */
void *contract_yaml_append(contract_loader_t *loader, yaml_node_t *node, void **array,
                           uint32_t *count, uint32_t *capacity, size_t size)
{
    if (*count == *capacity) {
        uint32_t grown = *capacity ? *capacity * 2 : 8;
        void *bigger = settle_realloc(*array, (size_t)grown * size);
        if (!bigger) {
            CONTRACT_PROBLEM(loader, node, SETTLE_ERR_NOMEM, NULL, "out of memory");
            return NULL;
        }
        *array = bigger;
        *capacity = grown;
    }
    char *element = (char *)*array + (size_t)(*count)++ * size;
    memset(element, 0, size);
    return element;
}

/* ------------------------------------------------------------------------
 * Nodes and scalars
 * ------------------------------------------------------------------------ */

yaml_node_t *contract_yaml_node(contract_loader_t *loader, int index)
{
    loader->visits++;
    return yaml_document_get_node(&loader->document, index);
}

int contract_yaml_scalar(contract_loader_t *loader, yaml_node_t *node, const char **text_out,
                         size_t *length_out)
{
    if (node->type != YAML_SCALAR_NODE)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a single value",
                                "expected a value, found a %s",
                                node->type == YAML_MAPPING_NODE ? "mapping" : "list");
    *text_out = (const char *)node->data.scalar.value;
    *length_out = node->data.scalar.length;
    return 0;
}

int contract_yaml_text(contract_loader_t *loader, yaml_node_t *node, char *field, size_t size)
{
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (length == 0 || length >= size)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_TOO_LONG, NULL,
                                "\"%.*s\" must be 1 to %zu characters",
                                (int)(length > 40 ? 40 : length), text, size - 1);
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
            return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_INVALID, "printable ASCII",
                                    "non-ASCII character in \"%.*s\"", (int)length, text);
    memcpy(field, text, length);
    field[length] = '\0';
    return 0;
}

int contract_yaml_amount(contract_loader_t *loader, yaml_node_t *node, int64_t *cents_out)
{
    const char *text = NULL;
    size_t length = 0;
    int64_t cents;
    if (contract_yaml_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (money_parse(text, length, &cents) != SETTLE_OK || cents < 0)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "an amount such as \"500.00\"",
                                "bad amount \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    *cents_out = cents;
    return 0;
}

int contract_yaml_rate(contract_loader_t *loader, yaml_node_t *node, int32_t *bps_out)
{
    const char *text = NULL;
    size_t length = 0;
    int32_t bps;
    if (contract_yaml_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (money_parse_rate(text, length, &bps) != SETTLE_OK || bps > 100 * 10000)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a percentage such as \"20%\"",
                                "bad percentage \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    *bps_out = bps;
    return 0;
}

int contract_yaml_date(contract_loader_t *loader, yaml_node_t *node, int32_t *days_out)
{
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (date_parse_iso(text, length, days_out) != SETTLE_OK)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a date CCYY-MM-DD",
                                "bad date \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    return 0;
}

int contract_yaml_count(contract_loader_t *loader, yaml_node_t *node, int64_t *count_out)
{
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(loader, node, &text, &length) != 0)
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
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a whole number",
                                "bad number \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    *count_out = value;
    return 0;
}

int contract_yaml_bool(contract_loader_t *loader, yaml_node_t *node, bool *value_out)
{
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (length == 4 && memcmp(text, "true", 4) == 0)
        *value_out = true;
    else if (length == 5 && memcmp(text, "false", 5) == 0)
        *value_out = false;
    else
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "true or false",
                                "bad flag \"%.*s\"", (int)(length > 40 ? 40 : length), text);
    return 0;
}

/* A procedure code: 1 to 15 letters and digits. */
bool contract_code_ok(const char *text, size_t length)
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

int contract_yaml_walk_map(contract_loader_t *loader, yaml_node_t *node, const contract_key_t *keys,
                           size_t key_count, void *target, const char *where)
{
    if (node->type != YAML_MAPPING_NODE)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a mapping of keys",
                                "%s: expected a mapping", where);
    unsigned before = loader->problems;
    uint32_t seen = 0;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top && !loader->out_of_memory; pair++) {
        yaml_node_t *key = contract_yaml_node(loader, pair->key),
                    *value = contract_yaml_node(loader, pair->value);
        const char *name = NULL;
        size_t length = 0;
        if (!key || !value || loader->visits > CONTRACT_NODES_MAX)
            return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_TOO_MANY, NULL, "contract too large");
        if (contract_yaml_scalar(loader, key, &name, &length) != 0)
            continue;
        size_t k = 0;
        while (k < key_count &&
               !(strlen(keys[k].name) == length && memcmp(keys[k].name, name, length) == 0))
            k++;
        if (k == key_count)
            CONTRACT_PROBLEM(loader, key, SETTLE_ERR_UNKNOWN_KEY, NULL,
                             "unknown key \"%.*s\" in %s", (int)(length > 40 ? 40 : length), name,
                             where);
        else if (seen & (1u << k))
            CONTRACT_PROBLEM(loader, key, SETTLE_ERR_INVALID, NULL, "key \"%s\" given twice in %s",
                             keys[k].name, where);
        else {
            seen |= 1u << k;
            keys[k].handler(loader, value, target);
        }
    }
    for (size_t k = 0; k < key_count && !loader->out_of_memory; k++)
        if (keys[k].required && !(seen & (1u << k)))
            CONTRACT_PROBLEM(loader, node, SETTLE_ERR_MISSING, NULL,
                             "missing required key \"%s\" in %s", keys[k].name, where);
    return loader->problems == before ? 0 : -1;
}

/* Calls each for every item of a list (a lone value counts as a list of one). */
int contract_yaml_each_item(contract_loader_t *loader, yaml_node_t *node,
                            contract_key_handler_fn each, void *target)
{
    if (node->type == YAML_SCALAR_NODE)
        return each(loader, node, target);
    if (node->type != YAML_SEQUENCE_NODE)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX, "a list", "expected a list");
    unsigned before = loader->problems;
    for (yaml_node_item_t *item = node->data.sequence.items.start;
         item < node->data.sequence.items.top && !loader->out_of_memory; item++) {
        yaml_node_t *value = contract_yaml_node(loader, *item);
        if (!value || loader->visits > CONTRACT_NODES_MAX)
            return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_TOO_MANY, NULL, "contract too large");
        each(loader, value, target);
    }
    return loader->problems == before ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Code lists: "99213", "99202-99215", "*"
 * ------------------------------------------------------------------------ */

static int s_code_item(contract_loader_t *loader, yaml_node_t *node, void *target)
{
    contract_codes_t *codes = target;
    const char *text = NULL;
    size_t length = 0;
    if (contract_yaml_scalar(loader, node, &text, &length) != 0)
        return -1;
    if (length == 1 && text[0] == '*') {
        codes->any = true;
        return 0;
    }
    const char *dash = memchr(text, '-', length);
    size_t low_length = dash ? (size_t)(dash - text) : length;
    const char *high = dash ? dash + 1 : text;
    size_t high_length = dash ? length - low_length - 1 : length;
    if (!contract_code_ok(text, low_length) || !contract_code_ok(high, high_length) ||
        low_length != high_length || memcmp(text, high, low_length) > 0)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_SYNTAX,
                                "a code, a range LOW-HIGH of codes of one length, or \"*\"",
                                "malformed code or code range \"%.*s\"",
                                (int)(length > 40 ? 40 : length), text);
    contract_range_t *range = CONTRACT_APPEND(loader, node, ranges);
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
int contract_yaml_codes(contract_loader_t *loader, yaml_node_t *node, contract_codes_t *codes)
{
    codes->first = loader->contract->ranges_count;
    codes->count = 0;
    codes->any = false;
    if (contract_yaml_each_item(loader, node, s_code_item, codes) != 0)
        return -1;
    if (codes->count == 0 && !codes->any)
        return CONTRACT_PROBLEM(loader, node, SETTLE_ERR_MISSING, "at least one code",
                                "empty code list");
    if (codes->count < 2)
        return 0;
    contract_range_t *ranges = loader->contract->ranges + codes->first;
    qsort(ranges, codes->count, sizeof *ranges, s_range_order);
    int rc = 0;
    for (uint32_t i = 1; i < codes->count; i++) {
        if (contract_code_compare(ranges[i - 1].high, ranges[i].low) >= 0) {
            yaml_mark_t mark = {0, ranges[i].line - 1, ranges[i].column - 1};
            rc = contract_yaml_problem_at(loader, mark, SETTLE_ERR_RANGE, NULL,
                                          "code range %s-%s overlaps %s-%s", ranges[i].low,
                                          ranges[i].high, ranges[i - 1].low, ranges[i - 1].high);
        }
    }
    return rc;
}
