/*
 * contract_internal.h - the layout of a compiled contract, shared by the
 * loader (contract_load.c, contract_yaml.c) and the interpreter (interp.c)
 * only; and, at the end, the loader's YAML walk, shared by the loader's
 * two files.
 *
 * Everything is a flat array indexed by position.  Code lists point into
 * one pool of ranges (each list sorted, ranges within a list disjoint), so
 * a lookup is a bisection over a short slice.  Codes compare by length
 * first and then byte by byte: "99202-99215" holds only five-character
 * codes, and "9921" is not in it.
 */
#ifndef SETTLE_CONTRACT_INTERNAL_H
#define SETTLE_CONTRACT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "contract_rules.h"
#include "settle/claim.h"
#include "settle/contract.h"

#define CONTRACT_REASON_SIZE  8
#define CONTRACT_PATTERN_SIZE CLAIM_DIAGNOSIS_SIZE
#define CONTRACT_UNLIMITED    INT64_MAX /* an amount or count with no cap */
#define CONTRACT_RATE_NONE    (-1)      /* "use the network's coinsurance" */

/*
 * A code packed into 64 bits so that comparing keys orders codes as
 * contract_code_compare does: the length in the top byte, then the first
 * seven bytes big-endian, zeros after the end.  Every CPT, HCPCS and
 * revenue code is at most seven characters, so the interpreter's lookups
 * compare one integer per step instead of calling strlen twice and memcmp;
 * a longer code that ties on its key goes on to the rest of its bytes.
 */
typedef uint64_t contract_code_key_t;

#define CONTRACT_CODE_KEY_BYTES 7

/* Source positions (line, column) are kept for the loader's messages. */
typedef struct {
    char low[CONTRACT_CODE_SIZE];
    char high[CONTRACT_CODE_SIZE];
    contract_code_key_t low_key; /* contract_code_key(low) */
    contract_code_key_t high_key;
    uint32_t line, column;
} contract_range_t;

/* A slice of the range pool; any = "*" matches every code. */
typedef struct {
    uint32_t first;
    uint32_t count;
    bool any;
} contract_codes_t;

typedef struct {
    char code[CONTRACT_CODE_SIZE];
    char modifier[CLAIM_MODIFIER_SIZE]; /* "" for the code alone */
    contract_code_key_t code_key;       /* contract_code_key(code) */
    int64_t cents_per_unit;
    uint32_t line, column;
} contract_fee_t;

typedef struct {
    char name[CONTRACT_ID_SIZE];
    contract_codes_t codes;
    int64_t copay_cents;       /* 0 when none */
    int32_t coinsurance_bps;   /* CONTRACT_RATE_NONE: the network's */
    bool deductible;           /* the deductible applies (default) */
    bool prior_auth;           /* a claim without REF*G1 is denied (197) */
    int64_t limit_units_milli; /* CONTRACT_UNLIMITED when no limit */
} contract_benefit_t;

typedef struct {
    contract_codes_t codes;
    char reason[CONTRACT_REASON_SIZE];
} contract_exclusion_t;

typedef struct {
    char primary[CONTRACT_CODE_SIZE];
    contract_codes_t included;
} contract_bundle_t;

typedef struct {
    char code[CONTRACT_CODE_SIZE];
    contract_code_key_t code_key; /* contract_code_key(code) */
    int64_t units_milli_max;
    uint32_t line, column;
} contract_daily_max_t;

typedef struct {
    contract_codes_t codes;
    int32_t age_years_min; /* 0 when none */
    int32_t age_years_max; /* INT32_MAX when none */
} contract_age_edit_t;

typedef struct {
    contract_codes_t codes;
    char sex; /* 'F' or 'M' */
} contract_sex_edit_t;

/* An ICD-10 pattern without its dot: "M54" with prefix for "M54.*". */
typedef struct {
    char text[CONTRACT_PATTERN_SIZE];
    bool prefix;
} contract_pattern_t;

typedef struct {
    contract_codes_t codes;
    uint32_t pattern_first;
    uint32_t pattern_count;
} contract_diagnosis_edit_t;

typedef struct {
    int32_t coinsurance_bps;
    int32_t multiplier_bps; /* 10000 when not given */
} contract_network_t;

/* A custom rule: when the expression holds, deny the line or change its
 * cost sharing (contracts/README.md, "Custom rules"). */
typedef struct {
    char name[CONTRACT_ID_SIZE]; /* "" when not named */
    contract_rule_expr_t when;
    char deny[CONTRACT_REASON_SIZE]; /* "" when the rule does not deny */
    int64_t copay_cents;             /* -1: unchanged */
    int32_t coinsurance_bps;         /* CONTRACT_RATE_NONE: unchanged */
    int8_t deductible;               /* -1: unchanged, 0: waived, 1: applies */
} contract_rule_t;

/* A growable array while loading; fixed once the load returns. */
#define CONTRACT_ARRAY(type, name)                                                                 \
    type *name;                                                                                    \
    uint32_t name##_count;                                                                         \
    uint32_t name##_capacity

struct contract_s {
    char id[CONTRACT_ID_SIZE];
    char version[CONTRACT_ID_SIZE];
    char payer[CONTRACT_ID_SIZE];
    int32_t effective_from;
    int32_t effective_to;
    int32_t timely_filing_days;          /* INT32_MAX when not checked */
    int64_t deductible_cents_individual; /* 0 when none */
    int64_t deductible_cents_family;     /* CONTRACT_UNLIMITED when none */
    int64_t oop_cents_individual;        /* CONTRACT_UNLIMITED when none */
    int64_t oop_cents_family;            /* CONTRACT_UNLIMITED when none */
    contract_network_t network_in;
    contract_network_t network_out;
    int32_t percent_of_billed_bps;   /* default fee: 10000 (the charge) when not given */
    CONTRACT_ARRAY(char, providers); /* NPIs, CLAIM_NPI_SIZE each, sorted */
    CONTRACT_ARRAY(contract_range_t, ranges);
    CONTRACT_ARRAY(contract_fee_t, fees);         /* sorted by code, then modifier */
    CONTRACT_ARRAY(contract_benefit_t, benefits); /* in file order: first match wins */
    CONTRACT_ARRAY(contract_exclusion_t, exclusions);
    CONTRACT_ARRAY(contract_bundle_t, bundles);
    CONTRACT_ARRAY(contract_daily_max_t, daily_maxima); /* sorted by code */
    CONTRACT_ARRAY(contract_age_edit_t, age_edits);
    CONTRACT_ARRAY(contract_sex_edit_t, sex_edits);
    CONTRACT_ARRAY(contract_diagnosis_edit_t, diagnosis_edits);
    CONTRACT_ARRAY(contract_pattern_t, patterns);
    CONTRACT_ARRAY(contract_rule_t, rules); /* in file order */
    contract_rule_program_t rule_program;   /* the compiled `when` expressions */
};

/* Orders codes by length, then bytes. */
int contract_code_compare(const char *a, const char *b);

/* The key of a code (see contract_code_key_t); inline, since the
 * interpreter keys every line's code. */
static inline contract_code_key_t contract_code_key(const char *code)
{
    contract_code_key_t key = 0;
    size_t length = 0;
    for (; length < 0xff && code[length]; length++)
        if (length < CONTRACT_CODE_KEY_BYTES)
            key |= (contract_code_key_t)(unsigned char)code[length] << (48 - 8 * length);
    return key | (contract_code_key_t)length << 56;
}

/* True when code is in the list. */
bool contract_codes_match(const contract_t *contract, const contract_codes_t *codes,
                          const char *code);

/* The same, for a caller that has the code's key already (key must be
 * contract_code_key(code)). */
bool contract_codes_match_key(const contract_t *contract, const contract_codes_t *codes,
                              const char *code, contract_code_key_t key);

/* The fee for code with one of the line's modifiers (tried in order), else
 * for the code alone; NULL when the schedule does not list the code. */
const contract_fee_t *contract_fee_find(const contract_t *contract, const char *code,
                                        const char (*modifiers)[CLAIM_MODIFIER_SIZE]);

/* The same, with the code's key (contract_code_key(code)). */
const contract_fee_t *contract_fee_find_key(const contract_t *contract, const char *code,
                                            contract_code_key_t key,
                                            const char (*modifiers)[CLAIM_MODIFIER_SIZE]);

/* The daily maximum for code, or NULL. */
const contract_daily_max_t *contract_daily_max_find(const contract_t *contract, const char *code);

/* The same, with the code's key (contract_code_key(code)). */
const contract_daily_max_t *contract_daily_max_find_key(const contract_t *contract,
                                                        const char *code, contract_code_key_t key);

/* True when npi is one of the in-network providers. */
bool contract_provider_in_network(const contract_t *contract, const char *npi);

/* ------------------------------------------------------------------------
 * The loader's YAML walk (contract_yaml.c), for the schema in
 * contract_load.c.  Every reader below that takes a node reports a bad
 * value as a problem at that node (CONTRACT_PROBLEM) and returns -1; the
 * walk goes on after a problem unless memory ran out.
 * ------------------------------------------------------------------------ */

#define CONTRACT_LOADER_KEYS_MAX 32 /* keys per mapping table: the seen-set is a bit mask */

typedef struct contract_loader_s contract_loader_t;

/* Reads one value into target (what the key's table says it is). */
typedef int (*contract_key_handler_fn)(contract_loader_t *loader, yaml_node_t *value, void *target);

/* One key of a mapping: its name, its reader, and whether it must be there. */
typedef struct {
    const char *name;
    contract_key_handler_fn handler;
    bool required;
} contract_key_t;

/* One load: the document, where problems go, and the contract being built
 * (owned by contract_load_text until it returns). */
struct contract_loader_s {
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

/* Records one problem at a YAML position: the first one's code and error
 * are kept for the caller, each is given to the report callback.  Always
 * returns -1. */
int contract_yaml_problem_at(contract_loader_t *loader, yaml_mark_t mark, int code,
                             const char *expected, const char *format, ...)
    __attribute__((format(printf, 5, 6)));

#define CONTRACT_PROBLEM(loader, node, code, expected, ...)                                        \
    contract_yaml_problem_at((loader), (node)->start_mark, (code), (expected), __VA_ARGS__)

#define CONTRACT_APPEND(loader, node, name)                                                        \
    contract_yaml_append((loader), (node), (void **)&(loader)->contract->name,                     \
                         &(loader)->contract->name##_count, &(loader)->contract->name##_capacity,  \
                         sizeof *(loader)->contract->name)

/* Grows an array by one zeroed element; NULL (and a problem) when out of
 * memory.  CONTRACT_APPEND names one of the contract's arrays. */
void *contract_yaml_append(contract_loader_t *loader, yaml_node_t *node, void **array,
                           uint32_t *count, uint32_t *capacity, size_t size);

/* The node at index, counted against CONTRACT_NODES_MAX; NULL when none. */
yaml_node_t *contract_yaml_node(contract_loader_t *loader, int index);

/* The text of a scalar node (not NUL-terminated: *length_out bytes). */
int contract_yaml_scalar(contract_loader_t *loader, yaml_node_t *node, const char **text_out,
                         size_t *length_out);

/* Copies 1 to size - 1 printable ASCII characters into field. */
int contract_yaml_text(contract_loader_t *loader, yaml_node_t *node, char *field, size_t size);

/* A non-negative amount such as "500.00", as cents. */
int contract_yaml_amount(contract_loader_t *loader, yaml_node_t *node, int64_t *cents_out);

/* A percentage such as "20%", at most 100%, as basis points. */
int contract_yaml_rate(contract_loader_t *loader, yaml_node_t *node, int32_t *bps_out);

/* A date CCYY-MM-DD, as days. */
int contract_yaml_date(contract_loader_t *loader, yaml_node_t *node, int32_t *days_out);

/* A whole number from 0 to 1,000,000,000. */
int contract_yaml_count(contract_loader_t *loader, yaml_node_t *node, int64_t *count_out);

/* true or false. */
int contract_yaml_bool(contract_loader_t *loader, yaml_node_t *node, bool *value_out);

/* A procedure code: 1 to 15 letters and digits. */
bool contract_code_ok(const char *text, size_t length);

/* Walks a mapping against keys (at most CONTRACT_LOADER_KEYS_MAX),
 * calling each key's handler with target; reports unknown, repeated and
 * missing required keys, naming where.  0 when the mapping had no problem. */
int contract_yaml_walk_map(contract_loader_t *loader, yaml_node_t *node, const contract_key_t *keys,
                           size_t key_count, void *target, const char *where);

/* Calls each for every item of a list (a lone value counts as a list of one). */
int contract_yaml_each_item(contract_loader_t *loader, yaml_node_t *node,
                            contract_key_handler_fn each, void *target);

/* Reads a code list into the range pool, sorted, and checks that no two
 * of its ranges overlap. */
int contract_yaml_codes(contract_loader_t *loader, yaml_node_t *node, contract_codes_t *codes);

#endif
