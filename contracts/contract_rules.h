/*
 * contract_rules.h - the expression language of custom rules: a compiler
 * from the text of a `when:` expression to a short flat program, and the
 * evaluator that runs such a program against one claim line.
 *
 * Private to contracts/ (and its unit tests and fuzz target).  The language
 * is described in contracts/README.md, section "Custom rules".
 *
 * A compiled expression is a run of contract_rule_op_t in a program's op
 * array.  Every comparison compiles to one op that leaves a truth value;
 * && and || compile to forward jumps (short-circuit), ! to a flip.  Jumps
 * only go forward, so an evaluation executes each op at most once; the
 * compiler also adds up the worst-case cost of every op (a list match costs
 * elements x patterns) and refuses an expression whose cost is over
 * CONTRACT_RULE_STEPS_MAX.  The evaluator counts the same steps and stops
 * there too, so every rule terminates within a fixed bound, and it uses no
 * memory but its own few locals.
 */
#ifndef SETTLE_CONTRACT_RULES_H
#define SETTLE_CONTRACT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settle/claim.h"
#include "settle/contract.h"

#define CONTRACT_RULE_TEXT_SIZE_MAX 2048 /* characters in one expression */
#define CONTRACT_RULE_OPS_MAX       256  /* ops in one compiled expression */
#define CONTRACT_RULE_LIST_MAX      64   /* literals in one [...] list */
#define CONTRACT_RULE_DEPTH_MAX     16   /* nested ( and ! */
#define CONTRACT_RULE_STEPS_MAX     4096 /* worst-case steps of one expression */
#define CONTRACT_RULES_MAX          256  /* rules in one contract */

/* What an expression can read.  Numbers are thousandths ("milli") of their
 * unit, so one comparison serves units (1.5), dollars (150.00) and years. */
typedef enum {
    CONTRACT_RULE_FIELD_MEMBER_AGE,      /* number: whole years on the service date */
    CONTRACT_RULE_FIELD_MEMBER_SEX,      /* text: F, M or U */
    CONTRACT_RULE_FIELD_PLACE,           /* text: claim.place_of_service (the line's if set) */
    CONTRACT_RULE_FIELD_CLAIM_DIAGNOSES, /* list of ICD-10 codes, principal first */
    CONTRACT_RULE_FIELD_LINE_CODE,       /* text: procedure (or revenue) code */
    CONTRACT_RULE_FIELD_LINE_MODIFIERS,  /* list of modifiers */
    CONTRACT_RULE_FIELD_LINE_UNITS,      /* number: billed units */
    CONTRACT_RULE_FIELD_LINE_CHARGE,     /* number: billed dollars */
    CONTRACT_RULE_FIELD_LINE_DIAGNOSES,  /* list: the line's pointed-to diagnoses */
    CONTRACT_RULE_FIELD_COUNT
} contract_rule_field_t;

typedef enum {
    CONTRACT_RULE_OP_TRUE,    /* value = true */
    CONTRACT_RULE_OP_FALSE,   /* value = false */
    CONTRACT_RULE_OP_COMPARE, /* value = field <cmp> (right field or constant) */
    CONTRACT_RULE_OP_MATCH,   /* value = some item of field matches some pattern, ^ negate */
    CONTRACT_RULE_OP_NOT,     /* value = !value */
    CONTRACT_RULE_OP_AND,     /* if !value: jump to target (else go on: value is the rhs) */
    CONTRACT_RULE_OP_OR       /* if value: jump to target */
} contract_rule_opcode_t;

typedef enum {
    CONTRACT_RULE_EQ,
    CONTRACT_RULE_NE,
    CONTRACT_RULE_LT,
    CONTRACT_RULE_LE,
    CONTRACT_RULE_GT,
    CONTRACT_RULE_GE
} contract_rule_compare_t;

#define CONTRACT_RULE_FIELD_NONE 0xff /* COMPARE: the right side is the constant */

typedef struct {
    uint8_t code;        /* contract_rule_opcode_t */
    uint8_t field;       /* COMPARE, MATCH: the field read */
    uint8_t compare;     /* COMPARE: contract_rule_compare_t; MATCH: 1 to negate */
    uint8_t right_field; /* COMPARE: a second field, or CONTRACT_RULE_FIELD_NONE */
    uint32_t first;      /* MATCH: first pattern; AND, OR: op index to jump to */
    uint32_t count;      /* MATCH: how many patterns */
    int64_t constant;    /* COMPARE: the right side, milli */
} contract_rule_op_t;

typedef enum {
    CONTRACT_RULE_PATTERN_EXACT,  /* low is the code */
    CONTRACT_RULE_PATTERN_PREFIX, /* "M54.*": low is "M54" */
    CONTRACT_RULE_PATTERN_RANGE,  /* "99202-99215": low..high, one length */
    CONTRACT_RULE_PATTERN_NUMBER  /* number, milli */
} contract_rule_pattern_kind_t;

typedef struct {
    uint8_t kind;   /* contract_rule_pattern_kind_t */
    uint8_t length; /* strlen(low) */
    char low[CONTRACT_CODE_SIZE];
    char high[CONTRACT_CODE_SIZE];
    int64_t number;
} contract_rule_pattern_t;

/* The ops and patterns of every expression of one contract; grows while
 * loading, fixed afterwards.  Owned by whoever holds it (the contract). */
typedef struct {
    contract_rule_op_t *ops;
    uint32_t ops_count, ops_capacity;
    contract_rule_pattern_t *patterns;
    uint32_t patterns_count, patterns_capacity;
    uint32_t fields_used; /* bit per contract_rule_field_t */
} contract_rule_program_t;

/* One compiled expression: ops[first .. first + count). */
typedef struct {
    uint32_t first;
    uint32_t count;
    uint32_t steps_max; /* its worst case, at most CONTRACT_RULE_STEPS_MAX */
} contract_rule_expr_t;

/* A compile error: where in the expression (0-based byte offset) and what. */
typedef struct {
    size_t offset;
    char message[224]; /* fits a settle_error_t message with "rule: " before it */
} contract_rule_problem_t;

/*
 * Compiles text[0..length) into program and describes it in *expr_out.
 * On a bad expression returns SETTLE_ERR_SYNTAX (or SETTLE_ERR_TOO_MANY,
 * SETTLE_ERR_RANGE for limits), fills problem and leaves program as it was;
 * SETTLE_ERR_NOMEM when it cannot grow (program as it was).
 */
int contract_rule_compile(contract_rule_program_t *program, const char *text, size_t length,
                          contract_rule_expr_t *expr_out, contract_rule_problem_t *problem);

/* Frees the program's arrays; the struct itself is the caller's. */
void contract_rule_program_free(contract_rule_program_t *program);

/* What a rule reads of one line.  age_years is -1 when it is not known
 * (no birth date, or the program does not read member.age). */
typedef struct {
    const claim_t *claim;
    const claim_line_t *line;
    char sex;
    int32_t age_years;
} contract_rule_input_t;

/*
 * Evaluates expr against input into *value.  Allocates nothing.
 * SETTLE_ERR_TOO_MANY (value false) if it would take more than
 * CONTRACT_RULE_STEPS_MAX steps, which the compiler already rules out.
 */
int contract_rule_eval(const contract_rule_program_t *program, const contract_rule_expr_t *expr,
                       const contract_rule_input_t *input, bool *value);

/* How a YAML scalar was written, for contract_rule_source_position. */
typedef enum {
    CONTRACT_RULE_STYLE_PLAIN,
    CONTRACT_RULE_STYLE_SINGLE_QUOTED,
    CONTRACT_RULE_STYLE_DOUBLE_QUOTED,
    CONTRACT_RULE_STYLE_BLOCK /* | or > */
} contract_rule_style_t;

/*
 * Finds where byte offset of a scalar's value was written in the source:
 * the scalar starts at 0-based (line, column), and *line_out, *column_out
 * get the 0-based place of the value's offset-th byte.  Follows quotes,
 * escapes, '' in single quotes, folded line breaks and block indentation,
 * so an error inside a multi-line expression still points at its token.
 */
void contract_rule_source_position(const char *source, size_t source_length, uint32_t line,
                                   uint32_t column, contract_rule_style_t style, size_t offset,
                                   uint32_t *line_out, uint32_t *column_out);

#endif
