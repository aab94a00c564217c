/*
 * contract_rules.c - custom rule expressions: lexer, recursive-descent
 * compiler to a flat op array, and the evaluator (see contract_rules.h for
 * the shape of a program, contracts/README.md for the language).
 *
 * The compiler checks types as it goes: a comparison needs two numbers, or
 * a text field and a text value; `in` needs a list on its right.  Each
 * problem is reported at the byte offset of the offending token, which the
 * loader turns into the YAML file's line and column.  The parser recurses
 * only through ( and !, and that depth is capped, so a hostile expression
 * cannot exhaust the stack.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "contract_internal.h"
#include "contract_rules.h"
#include "settle/alloc.h"

/* ------------------------------------------------------------------------
 * Fields
 * ------------------------------------------------------------------------ */

typedef enum { S_NUMBER, S_TEXT, S_LIST } s_type_t;

typedef struct {
    const char *name;
    uint8_t field;
    uint8_t type;      /* s_type_t */
    uint8_t items_max; /* how many texts a match looks at, at most */
    bool diagnosis;    /* literals matched against it drop their dot */
} s_field_t;

static const s_field_t s_fields[] = {
    {"member.age", CONTRACT_RULE_FIELD_MEMBER_AGE, S_NUMBER, 1, false},
    {"member.sex", CONTRACT_RULE_FIELD_MEMBER_SEX, S_TEXT, 1, false},
    {"claim.place_of_service", CONTRACT_RULE_FIELD_PLACE, S_TEXT, 1, false},
    {"claim.diagnoses", CONTRACT_RULE_FIELD_CLAIM_DIAGNOSES, S_LIST, CLAIM_DIAGNOSES_MAX, true},
    {"line.code", CONTRACT_RULE_FIELD_LINE_CODE, S_TEXT, 1, false},
    {"line.modifiers", CONTRACT_RULE_FIELD_LINE_MODIFIERS, S_LIST, CLAIM_MODIFIERS_MAX, false},
    {"line.units", CONTRACT_RULE_FIELD_LINE_UNITS, S_NUMBER, 1, false},
    {"line.charge", CONTRACT_RULE_FIELD_LINE_CHARGE, S_NUMBER, 1, false},
    {"line.diagnoses", CONTRACT_RULE_FIELD_LINE_DIAGNOSES, S_LIST, CLAIM_DIAGNOSES_MAX, true},
};

#define S_FIELD_COUNT (sizeof s_fields / sizeof s_fields[0])

/* ------------------------------------------------------------------------
 * Lexer
 * ------------------------------------------------------------------------ */

typedef enum {
    S_END, S_IDENT, S_NUMBER_LITERAL, S_STRING, S_EQ, S_NE, S_LT, S_LE, S_GT, S_GE,
    S_AND, S_OR, S_NOT, S_LPAREN, S_RPAREN, S_LBRACKET, S_RBRACKET, S_COMMA,
    S_IN, S_TRUE, S_FALSE, S_BAD
} s_kind_t;

typedef struct {
    s_kind_t kind;
    size_t offset;
    const char *text; /* S_IDENT: the name; S_STRING: inside the quotes */
    size_t length;
    int64_t number; /* S_NUMBER_LITERAL, milli */
} s_token_t;

typedef struct {
    contract_rule_program_t *program;
    const char *text;
    size_t length;
    size_t position;
    s_token_t token;
    contract_rule_problem_t *problem;
    uint32_t expr_first;
    uint32_t steps;
    uint32_t depth;
    uint32_t fields_used;
    int rc;
} s_parser_t;

static int s_fail(s_parser_t *p, int rc, size_t offset, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* Records the first problem; always returns -1. */
static int s_fail(s_parser_t *p, int rc, size_t offset, const char *format, ...)
{
    if (p->rc != SETTLE_OK)
        return -1;
    p->rc = rc;
    p->problem->offset = offset;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(p->problem->message, sizeof p->problem->message, format, arguments);
    va_end(arguments);
    return -1;
}

static bool s_is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool s_is_digit(char c) { return c >= '0' && c <= '9'; }

/* A number: up to 12 digits, then optionally "." and 1 to 3 digits. */
static int s_lex_number(s_parser_t *p, s_token_t *token)
{
    const char *text = p->text;
    size_t at = p->position, digits = 0;
    int64_t value = 0;
    for (; at < p->length && s_is_digit(text[at]); at++, digits++)
        value = digits < 12 ? value * 10 + (text[at] - '0') : value;
    int64_t fraction = 0, scale = 1000;
    size_t fraction_digits = 0;
    if (at < p->length && text[at] == '.') {
        for (at++; at < p->length && s_is_digit(text[at]); at++, fraction_digits++)
            if (fraction_digits < 3) {
                scale /= 10;
                fraction += (text[at] - '0') * scale;
            }
        if (fraction_digits == 0 || fraction_digits > 3)
            return s_fail(p, SETTLE_ERR_SYNTAX, token->offset,
                          "bad number: write 1 to 3 digits after the point");
    }
    if (digits > 12)
        return s_fail(p, SETTLE_ERR_RANGE, token->offset, "number too large");
    if (at < p->length && (s_is_alpha(text[at]) || text[at] == '.'))
        return s_fail(p, SETTLE_ERR_SYNTAX, token->offset,
                      "bad number: a text value needs quotes, as \"99213\"");
    token->kind = S_NUMBER_LITERAL;
    token->number = value * 1000 + fraction;
    p->position = at;
    return 0;
}

static int s_lex_string(s_parser_t *p, s_token_t *token)
{
    char quote = p->text[p->position];
    size_t start = p->position + 1, at = start;
    while (at < p->length && p->text[at] != quote) {
        unsigned char c = (unsigned char)p->text[at];
        if (c < 0x20 || c > 0x7e)
            return s_fail(p, SETTLE_ERR_SYNTAX, at, "bad character in a text value");
        at++;
    }
    if (at == p->length)
        return s_fail(p, SETTLE_ERR_SYNTAX, token->offset, "text value without its closing %c",
                      quote);
    token->kind = S_STRING;
    token->text = p->text + start;
    token->length = at - start;
    p->position = at + 1;
    return 0;
}

/* Two-character operators first, then one-character ones. */
static int s_lex_operator(s_parser_t *p, s_token_t *token)
{
    static const struct {
        const char *text;
        s_kind_t kind;
    } operators[] = {{"==", S_EQ}, {"!=", S_NE}, {"<=", S_LE}, {">=", S_GE}, {"&&", S_AND},
                     {"||", S_OR}, {"<", S_LT},  {">", S_GT},  {"!", S_NOT},  {"(", S_LPAREN},
                     {")", S_RPAREN}, {"[", S_LBRACKET}, {"]", S_RBRACKET}, {",", S_COMMA}};
    for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
        size_t length = strlen(operators[i].text);
        if (p->position + length <= p->length &&
            memcmp(p->text + p->position, operators[i].text, length) == 0) {
            token->kind = operators[i].kind;
            p->position += length;
            return 0;
        }
    }
    char c = p->text[p->position];
    if (c == '=' || c == '&' || c == '|')
        return s_fail(p, SETTLE_ERR_SYNTAX, token->offset, "unexpected \"%c\"; did you mean \"%c%c\"?",
                      c, c, c);
    if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
        return s_fail(p, SETTLE_ERR_SYNTAX, token->offset, "unexpected character (byte 0x%02x)",
                      (unsigned char)c);
    return s_fail(p, SETTLE_ERR_SYNTAX, token->offset, "unexpected \"%c\"", c);
}

/* Reads the next token into p->token; -1 on a lexical error. */
static int s_next(s_parser_t *p)
{
    while (p->position < p->length && (p->text[p->position] == ' ' || p->text[p->position] == '\t' ||
                                       p->text[p->position] == '\n' || p->text[p->position] == '\r'))
        p->position++;
    s_token_t token = {.kind = S_END, .offset = p->position};
    int rc = 0;
    if (p->position == p->length) {
        token.kind = S_END;
    } else if (s_is_alpha(p->text[p->position])) {
        size_t start = p->position;
        while (p->position < p->length &&
               (s_is_alpha(p->text[p->position]) || s_is_digit(p->text[p->position]) ||
                p->text[p->position] == '.'))
            p->position++;
        token.kind = S_IDENT;
        token.text = p->text + start;
        token.length = p->position - start;
        if (token.length == 2 && memcmp(token.text, "in", 2) == 0)
            token.kind = S_IN;
        else if (token.length == 4 && memcmp(token.text, "true", 4) == 0)
            token.kind = S_TRUE;
        else if (token.length == 5 && memcmp(token.text, "false", 5) == 0)
            token.kind = S_FALSE;
    } else if (s_is_digit(p->text[p->position])) {
        rc = s_lex_number(p, &token);
    } else if (p->text[p->position] == '"' || p->text[p->position] == '\'') {
        rc = s_lex_string(p, &token);
    } else {
        rc = s_lex_operator(p, &token);
    }
    if (rc != 0)
        return -1;
    p->token = token;
    return 0;
}

/* How a token reads in a message. */
static void s_describe(const s_token_t *token, char *out, size_t size)
{
    if (token->kind == S_END)
        snprintf(out, size, "the end of the expression");
    else if (token->kind == S_STRING)
        snprintf(out, size, "\"%.*s\"", (int)(token->length > 20 ? 20 : token->length), token->text);
    else if (token->kind == S_NUMBER_LITERAL)
        snprintf(out, size, "a number");
    else
        snprintf(out, size, "%.*s", (int)(token->length > 30 ? 30 : token->length), token->text);
}

/* Fails at the current token: "expected WHAT, found ...". */
static int s_expected(s_parser_t *p, const char *what)
{
    char found[64];
    if (p->token.kind >= S_EQ && p->token.kind <= S_COMMA)
        snprintf(found, sizeof found, "\"%.*s\"", (int)(p->position - p->token.offset),
                 p->text + p->token.offset);
    else
        s_describe(&p->token, found, sizeof found);
    return s_fail(p, SETTLE_ERR_SYNTAX, p->token.offset, "expected %s, found %s", what, found);
}

/* ------------------------------------------------------------------------
 * Emitting ops and patterns
 * ------------------------------------------------------------------------ */

static int s_grow(void **array, uint32_t count, uint32_t *capacity, size_t size)
{
    if (count < *capacity)
        return 0;
    uint32_t grown = *capacity ? *capacity * 2 : 16;
    void *bigger = settle_realloc(*array, (size_t)grown * size);
    if (!bigger)
        return -1;
    *array = bigger;
    *capacity = grown;
    return 0;
}

/* Appends op, costing steps; its index in *index_out (when not NULL). */
static int s_emit(s_parser_t *p, const contract_rule_op_t *op, uint32_t steps, uint32_t *index_out)
{
    contract_rule_program_t *program = p->program;
    if (program->ops_count - p->expr_first >= CONTRACT_RULE_OPS_MAX)
        return s_fail(p, SETTLE_ERR_TOO_MANY, p->token.offset,
                      "expression too long: more than %d operations", CONTRACT_RULE_OPS_MAX);
    p->steps += steps;
    if (p->steps > CONTRACT_RULE_STEPS_MAX)
        return s_fail(p, SETTLE_ERR_RANGE, p->token.offset,
                      "expression too costly: more than %d steps in the worst case",
                      CONTRACT_RULE_STEPS_MAX);
    if (s_grow((void **)&program->ops, program->ops_count, &program->ops_capacity,
               sizeof *program->ops) != 0)
        return s_fail(p, SETTLE_ERR_NOMEM, p->token.offset, "out of memory");
    if (index_out)
        *index_out = program->ops_count;
    program->ops[program->ops_count++] = *op;
    return 0;
}

static bool s_code_char(char c) { return s_is_alpha(c) || s_is_digit(c); }

/* Copies a code of 1..15 letters and digits, dropping dots after the
 * third character when dots (diagnosis codes print "M54.5", claims carry
 * "M545"); false when it is not one. */
static bool s_code(const char *text, size_t length, bool dots, char *out, uint8_t *length_out)
{
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        if (dots && text[i] == '.' && i >= 3)
            continue;
        if (!s_code_char(text[i]) || used + 1 >= CONTRACT_CODE_SIZE)
            return false;
        out[used++] = text[i];
    }
    out[used] = '\0';
    *length_out = (uint8_t)used;
    return used > 0;
}

/* A text literal as a pattern: "99213", "M54.*" (prefix), "99202-99215". */
static int s_text_pattern(s_parser_t *p, const s_token_t *token, bool dots, bool exact_only)
{
    contract_rule_pattern_t pattern = {.kind = CONTRACT_RULE_PATTERN_EXACT};
    const char *text = token->text;
    size_t length = token->length;
    const char *dash = memchr(text, '-', length);
    bool ok;
    if (length > 1 && text[length - 1] == '*') {
        pattern.kind = CONTRACT_RULE_PATTERN_PREFIX;
        ok = s_code(text, length - 1, dots, pattern.low, &pattern.length);
    } else if (dash) {
        uint8_t high_length = 0;
        pattern.kind = CONTRACT_RULE_PATTERN_RANGE;
        ok = s_code(text, (size_t)(dash - text), dots, pattern.low, &pattern.length) &&
             s_code(dash + 1, length - (size_t)(dash - text) - 1, dots, pattern.high,
                    &high_length) &&
             high_length == pattern.length && memcmp(pattern.low, pattern.high, high_length) <= 0;
    } else {
        ok = s_code(text, length, dots, pattern.low, &pattern.length);
    }
    if (!ok)
        return s_fail(p, SETTLE_ERR_SYNTAX, token->offset,
                      "bad code \"%.*s\": expected letters and digits, \"PREFIX*\" or LOW-HIGH "
                      "of one length",
                      (int)(length > 31 ? 31 : length), text);
    if (exact_only && pattern.kind != CONTRACT_RULE_PATTERN_EXACT)
        return s_fail(p, SETTLE_ERR_SYNTAX, token->offset,
                      "a pattern or range matches only with in [...]");
    contract_rule_program_t *program = p->program;
    if (s_grow((void **)&program->patterns, program->patterns_count,
               &program->patterns_capacity, sizeof *program->patterns) != 0)
        return s_fail(p, SETTLE_ERR_NOMEM, token->offset, "out of memory");
    program->patterns[program->patterns_count++] = pattern;
    return 0;
}

static int s_number_pattern(s_parser_t *p, int64_t number)
{
    contract_rule_program_t *program = p->program;
    if (s_grow((void **)&program->patterns, program->patterns_count,
               &program->patterns_capacity, sizeof *program->patterns) != 0)
        return s_fail(p, SETTLE_ERR_NOMEM, p->token.offset, "out of memory");
    program->patterns[program->patterns_count++] =
        (contract_rule_pattern_t){.kind = CONTRACT_RULE_PATTERN_NUMBER, .number = number};
    return 0;
}

/* ------------------------------------------------------------------------
 * Parser: or := and ("||" and)*; and := unary ("&&" unary)*;
 * unary := "!" unary | "(" or ")" | true | false | comparison;
 * comparison := operand (COMPARE operand | "in" ("[" values "]" | list field))
 * ------------------------------------------------------------------------ */

typedef struct {
    uint8_t type;           /* s_type_t */
    const s_field_t *field; /* NULL for a value written in the expression */
    s_token_t token;
} s_operand_t;

static int s_or(s_parser_t *p);

static int s_operand(s_parser_t *p, s_operand_t *operand)
{
    operand->token = p->token;
    operand->field = NULL;
    if (p->token.kind == S_NUMBER_LITERAL) {
        operand->type = S_NUMBER;
    } else if (p->token.kind == S_STRING) {
        operand->type = S_TEXT;
    } else if (p->token.kind == S_IDENT) {
        for (size_t i = 0; i < S_FIELD_COUNT && !operand->field; i++)
            if (strlen(s_fields[i].name) == p->token.length &&
                memcmp(s_fields[i].name, p->token.text, p->token.length) == 0)
                operand->field = &s_fields[i];
        if (!operand->field)
            return s_fail(p, SETTLE_ERR_SYNTAX, p->token.offset,
                          "unknown field \"%.*s\" (fields: member.age, member.sex, "
                          "claim.place_of_service, claim.diagnoses, line.code, line.modifiers, "
                          "line.units, line.charge, line.diagnoses)",
                          (int)(p->token.length > 30 ? 30 : p->token.length), p->token.text);
        operand->type = operand->field->type;
        p->fields_used |= 1u << operand->field->field;
    } else {
        return s_expected(p, "a field, a number or a quoted value");
    }
    return s_next(p);
}

/* The operator that reads the same with its sides swapped: a < b is b > a. */
static uint8_t s_mirror(uint8_t compare)
{
    static const uint8_t mirrored[] = {CONTRACT_RULE_EQ, CONTRACT_RULE_NE, CONTRACT_RULE_GT,
                                       CONTRACT_RULE_GE, CONTRACT_RULE_LT, CONTRACT_RULE_LE};
    return mirrored[compare];
}

static bool s_compare_numbers(int64_t a, uint8_t compare, int64_t b)
{
    switch (compare) {
    case CONTRACT_RULE_EQ: return a == b;
    case CONTRACT_RULE_NE: return a != b;
    case CONTRACT_RULE_LT: return a < b;
    case CONTRACT_RULE_LE: return a <= b;
    case CONTRACT_RULE_GT: return a > b;
    default: return a >= b;
    }
}

static int s_compare_number_operands(s_parser_t *p, s_operand_t *left, uint8_t compare,
                                     s_operand_t *right)
{
    contract_rule_op_t op = {.code = CONTRACT_RULE_OP_COMPARE,
                             .right_field = CONTRACT_RULE_FIELD_NONE};
    if (!left->field && !right->field) {
        bool value = s_compare_numbers(left->token.number, compare, right->token.number);
        op.code = value ? CONTRACT_RULE_OP_TRUE : CONTRACT_RULE_OP_FALSE;
        return s_emit(p, &op, 1, NULL);
    }
    if (!left->field) {
        s_operand_t swap = *left;
        *left = *right;
        *right = swap;
        compare = s_mirror(compare);
    }
    op.field = left->field->field;
    op.compare = compare;
    if (right->field)
        op.right_field = right->field->field;
    else
        op.constant = right->token.number;
    return s_emit(p, &op, 1, NULL);
}

/* field == "value", field != "value", either way round. */
static int s_compare_text_operands(s_parser_t *p, s_operand_t *left, uint8_t compare,
                                   s_operand_t *right, size_t at)
{
    if (left->type == S_LIST || right->type == S_LIST) {
        const s_operand_t *list = left->type == S_LIST ? left : right;
        return s_fail(p, SETTLE_ERR_SYNTAX, at,
                      "%s is a list: test membership with \"VALUE\" in %s", list->field->name,
                      list->field->name);
    }
    if (compare != CONTRACT_RULE_EQ && compare != CONTRACT_RULE_NE)
        return s_fail(p, SETTLE_ERR_SYNTAX, at, "text compares only with == and !=");
    if ((left->field != NULL) == (right->field != NULL))
        return s_fail(p, SETTLE_ERR_SYNTAX, at,
                      "compare a field with a quoted value, as line.code == \"99213\"");
    const s_operand_t *field = left->field ? left : right, *value = left->field ? right : left;
    contract_rule_op_t op = {.code = CONTRACT_RULE_OP_MATCH, .field = field->field->field,
                             .compare = compare == CONTRACT_RULE_NE,
                             .first = p->program->patterns_count, .count = 1};
    if (s_text_pattern(p, &value->token, field->field->diagnosis, true) != 0)
        return -1;
    return s_emit(p, &op, 1 + (uint32_t)field->field->items_max, NULL);
}

/* left in [v, v, ...]: a number field with numbers, a text or list field
 * with codes and patterns. */
static int s_in_list(s_parser_t *p, const s_operand_t *left)
{
    if (!left->field)
        return s_fail(p, SETTLE_ERR_SYNTAX, left->token.offset,
                      "the left of in [...] must be a field, as line.code in [\"99213\"]");
    contract_rule_op_t op = {.code = CONTRACT_RULE_OP_MATCH, .field = left->field->field,
                             .first = p->program->patterns_count};
    if (s_next(p) != 0)
        return -1;
    while (p->rc == SETTLE_OK) {
        if (op.count == CONTRACT_RULE_LIST_MAX)
            return s_fail(p, SETTLE_ERR_TOO_MANY, p->token.offset,
                          "more than %d values in one list", CONTRACT_RULE_LIST_MAX);
        if (left->type == S_NUMBER && p->token.kind == S_NUMBER_LITERAL)
            s_number_pattern(p, p->token.number);
        else if (left->type != S_NUMBER && p->token.kind == S_STRING)
            s_text_pattern(p, &p->token, left->field->diagnosis, false);
        else
            return s_expected(p, left->type == S_NUMBER ? "a number" : "a quoted value");
        op.count++;
        if (p->rc != SETTLE_OK || s_next(p) != 0)
            return -1;
        if (p->token.kind == S_RBRACKET)
            break;
        if (p->token.kind != S_COMMA)
            return s_expected(p, "\",\" or \"]\"");
        if (s_next(p) != 0)
            return -1;
    }
    if (p->rc != SETTLE_OK || s_next(p) != 0)
        return -1;
    return s_emit(p, &op, 1 + (uint32_t)left->field->items_max * op.count, NULL);
}

/* "value" in list-field. */
static int s_in_field(s_parser_t *p, const s_operand_t *left, const s_operand_t *right)
{
    if (!right->field || right->type != S_LIST)
        return s_fail(p, SETTLE_ERR_SYNTAX, right->token.offset,
                      "expected [...] or a list field (line.modifiers, claim.diagnoses, "
                      "line.diagnoses) after in");
    if (left->field || left->type != S_TEXT)
        return s_fail(p, SETTLE_ERR_SYNTAX, left->token.offset,
                      "the left of in %s must be a quoted value", right->field->name);
    contract_rule_op_t op = {.code = CONTRACT_RULE_OP_MATCH, .field = right->field->field,
                             .first = p->program->patterns_count, .count = 1};
    if (s_text_pattern(p, &left->token, right->field->diagnosis, false) != 0)
        return -1;
    return s_emit(p, &op, 1 + (uint32_t)right->field->items_max, NULL);
}

static int s_comparison(s_parser_t *p)
{
    static const struct {
        s_kind_t kind;
        uint8_t compare;
    } operators[] = {{S_EQ, CONTRACT_RULE_EQ}, {S_NE, CONTRACT_RULE_NE}, {S_LT, CONTRACT_RULE_LT},
                     {S_LE, CONTRACT_RULE_LE}, {S_GT, CONTRACT_RULE_GT}, {S_GE, CONTRACT_RULE_GE}};
    s_operand_t left, right;
    if (s_operand(p, &left) != 0)
        return -1;
    if (p->token.kind == S_IN) {
        if (s_next(p) != 0)
            return -1;
        if (p->token.kind == S_LBRACKET)
            return s_in_list(p, &left);
        if (s_operand(p, &right) != 0)
            return -1;
        return s_in_field(p, &left, &right);
    }
    size_t k = 0;
    while (k < sizeof operators / sizeof operators[0] && operators[k].kind != p->token.kind)
        k++;
    if (k == sizeof operators / sizeof operators[0])
        return s_expected(p, "a comparison (==, !=, <, <=, >, >=) or in");
    size_t at = p->token.offset;
    if (s_next(p) != 0 || s_operand(p, &right) != 0)
        return -1;
    if (left.type == S_NUMBER && right.type == S_NUMBER)
        return s_compare_number_operands(p, &left, operators[k].compare, &right);
    if (left.type == S_NUMBER || right.type == S_NUMBER)
        return s_fail(p, SETTLE_ERR_SYNTAX, at, "cannot compare a number with text");
    return s_compare_text_operands(p, &left, operators[k].compare, &right, at);
}

static int s_unary(s_parser_t *p)
{
    if (++p->depth > CONTRACT_RULE_DEPTH_MAX)
        return s_fail(p, SETTLE_ERR_TOO_MANY, p->token.offset,
                      "nested more than %d deep", CONTRACT_RULE_DEPTH_MAX);
    int rc;
    size_t at = p->token.offset;
    if (p->token.kind == S_NOT) {
        contract_rule_op_t op = {.code = CONTRACT_RULE_OP_NOT};
        rc = s_next(p) == 0 && s_unary(p) == 0 ? s_emit(p, &op, 1, NULL) : -1;
    } else if (p->token.kind == S_LPAREN) {
        rc = s_next(p) == 0 && s_or(p) == 0 ? 0 : -1;
        if (rc == 0 && p->token.kind != S_RPAREN)
            rc = p->token.kind == S_END
                     ? s_fail(p, SETTLE_ERR_SYNTAX, at, "\"(\" without its \")\"")
                     : s_expected(p, "\")\"");
        if (rc == 0)
            rc = s_next(p);
    } else if (p->token.kind == S_TRUE || p->token.kind == S_FALSE) {
        contract_rule_op_t op = {.code = p->token.kind == S_TRUE ? CONTRACT_RULE_OP_TRUE
                                                                 : CONTRACT_RULE_OP_FALSE};
        rc = s_emit(p, &op, 1, NULL) == 0 ? s_next(p) : -1;
    } else {
        rc = s_comparison(p);
    }
    p->depth--;
    return rc;
}

/* One level of && or ||: a forward jump past the right side. */
static int s_binary(s_parser_t *p, s_kind_t kind, int (*side)(s_parser_t *))
{
    if (side(p) != 0)
        return -1;
    while (p->token.kind == kind) {
        contract_rule_op_t op = {.code = kind == S_AND ? CONTRACT_RULE_OP_AND : CONTRACT_RULE_OP_OR};
        uint32_t jump = 0; /* s_emit sets it on success */
        if (s_emit(p, &op, 1, &jump) != 0 || s_next(p) != 0 || side(p) != 0)
            return -1;
        p->program->ops[jump].first = p->program->ops_count;
    }
    return 0;
}

static int s_and(s_parser_t *p) { return s_binary(p, S_AND, s_unary); }
static int s_or(s_parser_t *p) { return s_binary(p, S_OR, s_and); }

int contract_rule_compile(contract_rule_program_t *program, const char *text, size_t length,
                          contract_rule_expr_t *expr_out, contract_rule_problem_t *problem)
{
    s_parser_t p = {.program = program, .text = text, .length = length, .problem = problem,
                    .expr_first = program->ops_count, .rc = SETTLE_OK};
    uint32_t patterns_before = program->patterns_count;
    problem->offset = 0;
    problem->message[0] = '\0';
    if (length > CONTRACT_RULE_TEXT_SIZE_MAX)
        s_fail(&p, SETTLE_ERR_TOO_LONG, 0, "expression longer than %d characters",
               CONTRACT_RULE_TEXT_SIZE_MAX);
    else if (s_next(&p) == 0 && p.token.kind == S_END)
        s_fail(&p, SETTLE_ERR_MISSING, 0, "empty expression");
    else if (p.rc == SETTLE_OK && s_or(&p) == 0 && p.token.kind != S_END)
        s_expected(&p, "&&, || or the end of the expression");
    if (p.rc != SETTLE_OK) {
        program->ops_count = p.expr_first;
        program->patterns_count = patterns_before;
        return p.rc;
    }
    program->fields_used |= p.fields_used;
    *expr_out = (contract_rule_expr_t){.first = p.expr_first,
                                       .count = program->ops_count - p.expr_first,
                                       .steps_max = p.steps};
    return SETTLE_OK;
}

void contract_rule_program_free(contract_rule_program_t *program)
{
    if (!program)
        return;
    settle_free(program->ops);
    settle_free(program->patterns);
    memset(program, 0, sizeof *program);
}

/* ------------------------------------------------------------------------
 * Evaluation
 * ------------------------------------------------------------------------ */

static int64_t s_number(const contract_rule_input_t *input, uint8_t field)
{
    switch (field) {
    case CONTRACT_RULE_FIELD_MEMBER_AGE:
        return (int64_t)input->age_years * 1000;
    case CONTRACT_RULE_FIELD_LINE_UNITS:
        return input->line->units_milli;
    case CONTRACT_RULE_FIELD_LINE_CHARGE: /* cents to thousandths of a dollar */
        return input->line->charge_cents > INT64_MAX / 10   ? INT64_MAX
               : input->line->charge_cents < INT64_MIN / 10 ? INT64_MIN
                                                            : input->line->charge_cents * 10;
    default:
        return 0;
    }
}

static bool s_pattern_match(const contract_rule_pattern_t *pattern, const char *text)
{
    switch (pattern->kind) {
    case CONTRACT_RULE_PATTERN_EXACT:
        return strcmp(text, pattern->low) == 0;
    case CONTRACT_RULE_PATTERN_PREFIX:
        return strncmp(text, pattern->low, pattern->length) == 0;
    case CONTRACT_RULE_PATTERN_RANGE:
        return contract_code_compare(pattern->low, text) <= 0 &&
               contract_code_compare(text, pattern->high) <= 0;
    default:
        return false;
    }
}

/* True when text matches one of the op's patterns. */
static bool s_text_match(const contract_rule_program_t *program, const contract_rule_op_t *op,
                         const char *text)
{
    if (text[0] == '\0')
        return false;
    for (uint32_t i = 0; i < op->count; i++)
        if (s_pattern_match(&program->patterns[op->first + i], text))
            return true;
    return false;
}

/* The i-th text of a text or list field, or NULL past the last. */
static const char *s_item(const contract_rule_input_t *input, uint8_t field, uint32_t i,
                          char sex[2])
{
    const claim_line_t *line = input->line;
    const claim_t *claim = input->claim;
    switch (field) {
    case CONTRACT_RULE_FIELD_MEMBER_SEX:
        sex[0] = input->sex;
        sex[1] = '\0';
        return i == 0 ? sex : NULL;
    case CONTRACT_RULE_FIELD_PLACE:
        return i > 0 ? NULL : line->place_of_service[0] ? line->place_of_service
                                                        : claim->place_of_service;
    case CONTRACT_RULE_FIELD_LINE_CODE:
        return i > 0 ? NULL : line->procedure_code[0] ? line->procedure_code : line->revenue_code;
    case CONTRACT_RULE_FIELD_LINE_MODIFIERS:
        return i < CLAIM_MODIFIERS_MAX && line->modifiers[i][0] ? line->modifiers[i] : NULL;
    case CONTRACT_RULE_FIELD_CLAIM_DIAGNOSES:
        return i < claim->diagnosis_count && i < CLAIM_DIAGNOSES_MAX ? claim->diagnoses[i] : NULL;
    case CONTRACT_RULE_FIELD_LINE_DIAGNOSES:
        if (line->diagnosis_pointers[0] == 0) /* no pointers: the claim's */
            return i < claim->diagnosis_count && i < CLAIM_DIAGNOSES_MAX ? claim->diagnoses[i]
                                                                         : NULL;
        for (; i < CLAIM_POINTERS_MAX && line->diagnosis_pointers[i]; i++)
            if ((size_t)line->diagnosis_pointers[i] - 1 < claim->diagnosis_count)
                return claim->diagnoses[line->diagnosis_pointers[i] - 1];
        return NULL;
    default:
        return NULL;
    }
}

static bool s_match(const contract_rule_program_t *program, const contract_rule_op_t *op,
                    const contract_rule_input_t *input, uint32_t *steps)
{
    if (op->field == CONTRACT_RULE_FIELD_MEMBER_AGE || op->field == CONTRACT_RULE_FIELD_LINE_UNITS ||
        op->field == CONTRACT_RULE_FIELD_LINE_CHARGE) {
        int64_t number = s_number(input, op->field);
        *steps += op->count;
        for (uint32_t i = 0; i < op->count; i++)
            if (program->patterns[op->first + i].number == number)
                return true;
        return false;
    }
    char sex[2];
    const char *text;
    for (uint32_t i = 0; (text = s_item(input, op->field, i, sex)) != NULL; i++) {
        *steps += op->count;
        if (s_text_match(program, op, text))
            return true;
    }
    return false;
}

int contract_rule_eval(const contract_rule_program_t *program, const contract_rule_expr_t *expr,
                       const contract_rule_input_t *input, bool *value)
{
    bool result = false;
    uint32_t steps = 0, end = expr->first + expr->count;
    for (uint32_t pc = expr->first; pc < end; pc++) {
        const contract_rule_op_t *op = &program->ops[pc];
        steps++;
        switch (op->code) {
        case CONTRACT_RULE_OP_TRUE: result = true; break;
        case CONTRACT_RULE_OP_FALSE: result = false; break;
        case CONTRACT_RULE_OP_COMPARE:
            result = s_compare_numbers(s_number(input, op->field), op->compare,
                                       op->right_field == CONTRACT_RULE_FIELD_NONE
                                           ? op->constant
                                           : s_number(input, op->right_field));
            break;
        case CONTRACT_RULE_OP_MATCH: result = s_match(program, op, input, &steps) != (op->compare != 0); break;
        case CONTRACT_RULE_OP_NOT: result = !result; break;
        case CONTRACT_RULE_OP_AND: if (!result) pc = op->first - 1; break;
        case CONTRACT_RULE_OP_OR: if (result) pc = op->first - 1; break;
        default: break;
        }
        if (steps > CONTRACT_RULE_STEPS_MAX) {
            *value = false;
            return SETTLE_ERR_TOO_MANY;
        }
    }
    *value = result;
    return SETTLE_OK;
}

/* ------------------------------------------------------------------------
 * Source positions of expression offsets
 * ------------------------------------------------------------------------ */

typedef struct {
    const char *source;
    size_t length;
    size_t at; /* byte in source */
    uint32_t line, column;
} s_cursor_t;

static void s_cursor_step(s_cursor_t *c)
{
    char ch = c->source[c->at++];
    if (ch == '\n' || (ch == '\r' && (c->at == c->length || c->source[c->at] != '\n'))) {
        c->line++;
        c->column = 0;
    } else if (ch != '\r' && ((unsigned char)ch & 0xc0) != 0x80) {
        c->column++; /* libyaml counts characters, not bytes */
    }
}

static bool s_cursor_blank(const s_cursor_t *c)
{
    return c->at < c->length && (c->source[c->at] == ' ' || c->source[c->at] == '\t' ||
                                 c->source[c->at] == '\n' || c->source[c->at] == '\r');
}

/* Moves over one raw piece of a flow scalar; returns the value bytes it
 * stands for. */
static size_t s_cursor_flow_piece(s_cursor_t *c, contract_rule_style_t style)
{
    const char *s = c->source;
    size_t left = c->length - c->at;
    if (s_cursor_blank(c)) {
        uint32_t line = c->line;
        size_t spaces = 0;
        while (s_cursor_blank(c)) {
            s_cursor_step(c);
            spaces++;
        }
        uint32_t breaks = c->line - line;
        return breaks == 0 ? spaces : breaks == 1 ? 1 : breaks - 1;
    }
    size_t raw = 1;
    if (style == CONTRACT_RULE_STYLE_SINGLE_QUOTED && s[c->at] == '\'' && left > 1)
        raw = 2;
    else if (style == CONTRACT_RULE_STYLE_DOUBLE_QUOTED && s[c->at] == '\\' && left > 1)
        raw = s[c->at + 1] == 'x' ? 4 : s[c->at + 1] == 'u' ? 6 : s[c->at + 1] == 'U' ? 10 : 2;
    for (size_t i = 0; i < raw && c->at < c->length; i++)
        s_cursor_step(c);
    return 1;
}

void contract_rule_source_position(const char *source, size_t source_length, uint32_t line,
                                   uint32_t column, contract_rule_style_t style, size_t offset,
                                   uint32_t *line_out, uint32_t *column_out)
{
    s_cursor_t c = {.source = source, .length = source_length};
    while (c.at < c.length && (c.line < line || c.column < column)) /* to the scalar */
        s_cursor_step(&c);
    *line_out = line;
    *column_out = column;
    if (c.line != line || c.column != column)
        return;
    if (style == CONTRACT_RULE_STYLE_BLOCK) {
        while (c.at < c.length && c.line == line) /* past the | or > line */
            s_cursor_step(&c);
        uint32_t indent = 0;
        while (c.at < c.length && c.source[c.at] == ' ' && ++indent)
            s_cursor_step(&c);
        for (size_t value = 0; value < offset && c.at < c.length; value++) {
            s_cursor_step(&c);
            bool line_start = c.column == 0;
            for (uint32_t i = 0; line_start && i < indent && c.at < c.length &&
                                 c.source[c.at] == ' ';
                 i++)
                s_cursor_step(&c);
        }
    } else {
        if (style != CONTRACT_RULE_STYLE_PLAIN && c.at < c.length)
            s_cursor_step(&c); /* the opening quote */
        for (size_t value = 0; value < offset && c.at < c.length;)
            value += s_cursor_flow_piece(&c, style);
    }
    *line_out = c.line;
    *column_out = c.column;
}
