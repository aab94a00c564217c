/*
 * wire.h - the byte writer and reader behind every canonical encoding in
 * engine/: the claim (claim_codec.c), the command, entry and payload
 * encodings (command.c, command_payload.c) and the ledger's decision blobs
 * and row digest (ledger*.c).  Integers big-endian, texts as a u16 length
 * and printable ASCII.  Private to engine/.
 *
 * The writer measures when it has no buffer, so one walk gives the size and
 * a second writes; it grows its own buffer when asked to (wire_buffer).
 * The reader records its first failure and then reads nothing more, so a
 * decoder can read field after field and check once at the end.
 */
#ifndef SETTLE_WIRE_H
#define SETTLE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "settle/alloc.h"
#include "settle/error.h"

typedef struct {
    uint8_t *at; /* NULL when only measuring */
    size_t used;
    size_t capacity; /* growable buffers only */
    bool grow;       /* at is a settle_malloc'd buffer that may be grown */
    bool ok;         /* false once a value could not be written */
} wire_writer_t;

static inline bool wire_reserve(wire_writer_t *w, size_t size)
{
    if (!w->grow || w->used + size <= w->capacity)
        return true;
    size_t grown = w->capacity ? w->capacity : 256;
    while (grown < w->used + size)
        grown *= 2;
    uint8_t *bigger = settle_realloc(w->at, grown);
    if (!bigger) {
        w->ok = false;
        return false;
    }
    w->at = bigger;
    w->capacity = grown;
    return true;
}

static inline void wire_put(wire_writer_t *w, const void *bytes, size_t size)
{
    if (!w->ok || !wire_reserve(w, size))
        return;
    if (w->at && size)
        memcpy(w->at + w->used, bytes, size);
    w->used += size;
}

static inline void wire_put_uint(wire_writer_t *w, uint64_t value, int size)
{
    uint8_t bytes[8];
    for (int i = 0; i < size; i++)
        bytes[i] = (uint8_t)(value >> (8 * (size - 1 - i)));
    wire_put(w, bytes, (size_t)size);
}

static inline bool wire_text_ok(const char *text, size_t length, size_t field_size)
{
    if (length >= field_size)
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
            return false;
    return true;
}

/* A NUL-terminated text of a field_size array, as u16 length + bytes. */
static inline void wire_put_text(wire_writer_t *w, const char *text, size_t field_size)
{
    size_t length = strnlen(text, field_size);
    if (!wire_text_ok(text, length, field_size)) {
        w->ok = false;
        return;
    }
    wire_put_uint(w, length, 2);
    wire_put(w, text, length);
}

/* Any bytes as u32 length + bytes. */
static inline void wire_put_bytes(wire_writer_t *w, const void *bytes, size_t size)
{
    if (size > UINT32_MAX) {
        w->ok = false;
        return;
    }
    wire_put_uint(w, size, 4);
    wire_put(w, bytes, size);
}

typedef struct {
    const uint8_t *bytes;
    size_t size;
    size_t at;
    int rc;            /* first failure; SETTLE_OK until then */
    const char *what;  /* the encoding being read, for the error */
    const char *field; /* the field being read */
    settle_error_t *error;
} wire_reader_t;

static inline void wire_fail(wire_reader_t *r, int rc, const char *why)
{
    if (r->rc != SETTLE_OK)
        return;
    r->rc = rc;
    settle_error_set(r->error, rc, "%s, byte %zu, %s: %s", r->what, r->at, r->field, why);
}

static inline const uint8_t *wire_take(wire_reader_t *r, size_t size)
{
    if (r->rc != SETTLE_OK)
        return NULL;
    if (size > r->size - r->at) {
        wire_fail(r, SETTLE_ERR_TRUNCATED, "the buffer ends early");
        return NULL;
    }
    const uint8_t *at = r->bytes + r->at;
    r->at += size;
    return at;
}

static inline uint64_t wire_get_uint(wire_reader_t *r, int size)
{
    const uint8_t *at = wire_take(r, (size_t)size);
    uint64_t value = 0;
    for (int i = 0; at && i < size; i++)
        value = value << 8 | at[i];
    return value;
}

static inline void wire_get_text(wire_reader_t *r, const char *name, char *field, size_t field_size)
{
    r->field = name;
    size_t length = (size_t)wire_get_uint(r, 2);
    if (r->rc == SETTLE_OK && length >= field_size)
        wire_fail(r, SETTLE_ERR_CORRUPT, "text longer than the field allows");
    const uint8_t *at = wire_take(r, length);
    if (!at)
        return;
    if (!wire_text_ok((const char *)at, length, field_size)) {
        wire_fail(r, SETTLE_ERR_CORRUPT, "a character outside printable ASCII");
        return;
    }
    memcpy(field, at, length);
    field[length] = '\0';
}

/* u32 length + bytes, at most size_max; the view points into the buffer. */
static inline const uint8_t *wire_get_bytes(wire_reader_t *r, const char *name, size_t size_max,
                                            size_t *size_out)
{
    r->field = name;
    size_t size = (size_t)wire_get_uint(r, 4);
    if (r->rc == SETTLE_OK && size > size_max) {
        wire_fail(r, SETTLE_ERR_TOO_LONG, "longer than its limit");
        return NULL;
    }
    const uint8_t *at = wire_take(r, size);
    *size_out = at ? size : 0;
    return at;
}

static inline void wire_get_end(wire_reader_t *r)
{
    if (r->rc == SETTLE_OK && r->at != r->size) {
        r->field = "end";
        wire_fail(r, SETTLE_ERR_CORRUPT, "bytes after the last field");
    }
}

#endif
