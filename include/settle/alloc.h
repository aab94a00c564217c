/*
 * alloc.h - the one allocator every settle module uses.
 *
 * All heap memory in settle goes through these calls, so that tests can make
 * the 1st, 2nd, ... Nth allocation fail and check that every failure is
 * reported and leaks nothing (the SQLite way), and so that a leak shows up as
 * a live count that does not return to where it started.
 *
 * The functions behave like their libc namesakes.  The counters are atomic,
 * so any thread may allocate; the failure rig is meant for single-threaded
 * tests.
 */
#ifndef SETTLE_ALLOC_H
#define SETTLE_ALLOC_H

#include <stddef.h>

/* size bytes at an address that is a multiple of alignment (a power of two,
 * a multiple of sizeof(void *)); freed with settle_free. */
void *settle_aligned_alloc(size_t alignment, size_t size);

void *settle_malloc(size_t size);
void *settle_calloc(size_t count, size_t size);
/* Like realloc: on failure returns NULL and the old block is still valid. */
void *settle_realloc(void *pointer, size_t size);
void settle_free(void *pointer);

/* A copy of text[0..length) with a NUL after it, or NULL when out of memory.
 * The caller owns the copy and frees it with settle_free. */
char *settle_strndup(const char *text, size_t length);

/*
 * Test rig: after `successes` more allocations succeed, every further one
 * fails until the rig is reset with a negative value (the default).  A call
 * with 0 makes the very next allocation fail.
 */
void settle_alloc_fail_after(long successes);

/* How many allocations have been asked for since the process started,
 * failed ones included; the difference across a call is how many that call
 * makes, which tells a test how far to walk the failure rig. */
long settle_alloc_attempts(void);

/* Blocks allocated and not yet freed, over the whole process. */
long settle_alloc_live(void);

#endif
