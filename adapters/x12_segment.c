/*
 * x12_segment.c - the X12 tokenizer: delimiters from the ISA header, then
 * segments and elements as spans into the input, bounds-checked on every
 * byte so that no input can make it read outside text[0..length).
 */
#include "settle/x12.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ISA01..ISA16 widths, fixed by the standard. */
static const uint8_t s_isa_widths[16] = {2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1};

static bool s_is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A delimiter cannot be a character that appears in data as itself. */
static bool s_delimiter_ok(char c)
{
    return !s_is_alnum(c) && c != ' ' && c != '\0';
}

/* The width of the ISA element starting at at: bytes up to the next
 * separator, the terminator, or 20 bytes, whichever comes first. */
static size_t s_width_found(const char *text, size_t length, size_t at, char separator)
{
    size_t width = 0;
    while (at + width < length && width < 20 && text[at + width] != separator)
        width++;
    return width;
}

__attribute__((format(printf, 5, 6))) static int s_isa_fail(settle_error_t *error, int code,
                                                            uint32_t element, unsigned wanted,
                                                            const char *format, ...)
{
    char message[SETTLE_ERROR_MESSAGE_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    settle_error_at_segment(error, 1, "ISA", element, 0);
    if (element)
        settle_error_expect(error,
                            "ISA%02u of exactly %u characters (the ISA header is fixed width)",
                            element, wanted);
    else
        settle_error_expect(error, "an ISA header of %d bytes", X12_ISA_LENGTH);
    return settle_error_set(error, code, "%s", message);
}

int x12_delimiters_from_isa(const char *text, size_t length, x12_delimiters_t *delimiters_out,
                            settle_error_t *error)
{
    if (length < 4 || memcmp(text, "ISA", 3) != 0)
        return s_isa_fail(error, SETTLE_ERR_SYNTAX, 0, 0, "no ISA header");
    char separator = text[3];
    if (!s_delimiter_ok(separator))
        return s_isa_fail(error, SETTLE_ERR_SYNTAX, 0, 0,
                          "the element separator after ISA is a letter, digit or space");
    size_t at = 4;
    for (uint32_t i = 0; i < 16; i++) {
        size_t width = s_isa_widths[i];
        size_t found = at < length ? s_width_found(text, length, at, separator) : 0;
        if ((i < 15 && at + found >= length) || (i == 15 && at + 1 >= length))
            return s_isa_fail(error, SETTLE_ERR_TRUNCATED, i + 1, (unsigned)width,
                              "the input ends inside the ISA header (%zu bytes)", length);
        if (found != width && (i < 15 || found < width)) {
            return s_isa_fail(error, SETTLE_ERR_SYNTAX, i + 1, (unsigned)width,
                              "element is %zu characters", found);
        }
        at += width + (i < 15 ? 1 : 0);
    }
    x12_delimiters_t d = {.element = separator,
                          .component = text[X12_ISA_LENGTH - 2],
                          .repetition = text[82],
                          .segment = text[X12_ISA_LENGTH - 1]};
    if (!s_delimiter_ok(d.component) || d.component == d.element) {
        settle_error_at_segment(error, 1, "ISA", 16, 0);
        settle_error_expect(error, "a component separator that is not a letter, digit, space "
                                   "or the element separator");
        return settle_error_set(error, SETTLE_ERR_SYNTAX, "bad component separator");
    }
    if (!s_delimiter_ok(d.segment) || d.segment == d.element || d.segment == d.component) {
        settle_error_at_segment(error, 1, "ISA", 16, 0);
        settle_error_expect(error, "a segment terminator after ISA16, distinct from the "
                                   "separators");
        return settle_error_set(error, SETTLE_ERR_SYNTAX, "bad segment terminator");
    }
    if (!s_delimiter_ok(d.repetition) || d.repetition == d.element || d.repetition == d.component ||
        d.repetition == d.segment)
        d.repetition = '\0';
    *delimiters_out = d;
    return SETTLE_OK;
}

void x12_scanner_init(x12_scanner_t *scanner, const char *text, size_t length, size_t offset,
                      const x12_delimiters_t *delimiters)
{
    scanner->text = text;
    scanner->length = length;
    scanner->offset = offset <= length ? offset : length;
    scanner->delimiters = *delimiters;
}

static bool s_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool s_id_ok(x12_span_t id)
{
    if (id.length < 2 || id.length > 3 || id.text[0] < 'A' || id.text[0] > 'Z')
        return false;
    for (size_t i = 1; i < id.length; i++)
        if (!((id.text[i] >= 'A' && id.text[i] <= 'Z') || (id.text[i] >= '0' && id.text[i] <= '9')))
            return false;
    return true;
}

/*
 * Splits the segment starting at text + at into segment_out in one pass,
 * stopping at the terminator or the end of the input: the hot loop of every
 * reader, so it looks at each byte once.  Sets *end_out to the offset of
 * the terminator (length when there is none) and *fits to false when there
 * were more elements than fit (the first ones are kept).
 */
static void s_split(const char *text, size_t length, size_t at, const x12_delimiters_t *d,
                    x12_segment_t *segment_out, size_t *end_out, bool *fits)
{
    const char separator = d->element, terminator = d->segment;
    x12_span_t *elements = segment_out->elements;
    const char *p = text + at, *end = text + length, *start = p;
    uint32_t count = 0;
    *fits = true;
    for (; p < end; p++) {
        char c = *p;
        if (c == terminator)
            break;
        if (c != separator)
            continue;
        if (count <= X12_ELEMENTS_MAX) {
            elements[count].text = start;
            elements[count].length = (size_t)(p - start);
            count++;
        } else {
            *fits = false;
        }
        start = p + 1;
    }
    size_t last = (size_t)(p - start);
    if (terminator == '\n' && last > 0 && start[last - 1] == '\r')
        last--;
    if (count <= X12_ELEMENTS_MAX) {
        elements[count].text = start;
        elements[count].length = last;
        count++;
    } else {
        *fits = false;
    }
    segment_out->element_count = count - 1;
    *end_out = (size_t)(p - text);
}

int x12_scanner_next(x12_scanner_t *scanner, x12_segment_t *segment_out)
{
    const char *text = scanner->text;
    size_t length = scanner->length, at = scanner->offset;
    char terminator = scanner->delimiters.segment;
    while (at < length && s_is_blank(text[at]) && text[at] != terminator)
        at++;
    if (at >= length) {
        scanner->offset = length;
        return SETTLE_ERR_NOT_FOUND;
    }
    size_t end;
    bool fits;
    segment_out->offset = at;
    s_split(text, length, at, &scanner->delimiters, segment_out, &end, &fits);
    scanner->offset = end < length ? end + 1 : length;
    memset(segment_out->id, 0, sizeof segment_out->id);
    segment_out->code = 0;
    x12_span_t id = segment_out->elements[0];
    if (!s_id_ok(id))
        return SETTLE_ERR_SYNTAX;
    memcpy(segment_out->id, id.text, id.length);
    segment_out->code = X12_ID(id.text[0], id.text[1], id.length > 2 ? id.text[2] : 0);
    if (!fits)
        return SETTLE_ERR_TOO_MANY;
    return end < length ? SETTLE_OK : SETTLE_ERR_TRUNCATED;
}

x12_span_t x12_element(const x12_segment_t *segment, uint32_t position)
{
    x12_span_t empty = {"", 0};
    if (position > segment->element_count || position > X12_ELEMENTS_MAX)
        return empty;
    return segment->elements[position];
}

x12_span_t x12_component(x12_span_t element, char separator, uint32_t position)
{
    x12_span_t empty = {"", 0};
    size_t start = 0;
    uint32_t index = 1;
    for (size_t i = 0; i <= element.length; i++) {
        if (i < element.length && element.text[i] != separator)
            continue;
        if (index == position) {
            x12_span_t found = {element.text + start, i - start};
            return found;
        }
        index++;
        start = i + 1;
    }
    return empty;
}
