/*
 * alloc.c - settle's allocator: libc underneath, with counters and a
 * failure rig for tests.
 */
#include "settle/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long s_fail_countdown = -1; /* allocations left before failing; <0 = never */
static atomic_long s_attempts;
static atomic_long s_live;

/* True when the rig says this allocation must fail. */
static int s_should_fail(void)
{
    atomic_fetch_add(&s_attempts, 1);
    long left = atomic_load(&s_fail_countdown);
    if (left < 0)
        return 0;
    if (left == 0)
        return 1;
    atomic_fetch_sub(&s_fail_countdown, 1);
    return 0;
}

void *settle_malloc(size_t size)
{
    if (s_should_fail())
        return NULL;
    void *pointer = malloc(size ? size : 1);
    if (pointer)
        atomic_fetch_add(&s_live, 1);
    return pointer;
}

void *settle_calloc(size_t count, size_t size)
{
    if (s_should_fail())
        return NULL;
    void *pointer = calloc(count ? count : 1, size ? size : 1);
    if (pointer)
        atomic_fetch_add(&s_live, 1);
    return pointer;
}

void *settle_realloc(void *pointer, size_t size)
{
    if (s_should_fail())
        return NULL;
    void *moved = realloc(pointer, size ? size : 1);
    if (moved && !pointer)
        atomic_fetch_add(&s_live, 1);
    return moved;
}

void *settle_aligned_alloc(size_t alignment, size_t size)
{
    if (s_should_fail())
        return NULL;
    void *pointer = NULL;
    if (posix_memalign(&pointer, alignment, size ? size : 1) != 0)
        return NULL;
    atomic_fetch_add(&s_live, 1);
    return pointer;
}

void settle_free(void *pointer)
{
    if (!pointer)
        return;
    atomic_fetch_sub(&s_live, 1);
    free(pointer);
}

char *settle_strndup(const char *text, size_t length)
{
    char *copy = settle_malloc(length + 1);
    if (!copy)
        return NULL;
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

void settle_alloc_fail_after(long successes)
{
    atomic_store(&s_fail_countdown, successes < 0 ? -1 : successes);
}

long settle_alloc_attempts(void)
{
    return atomic_load(&s_attempts);
}

long settle_alloc_live(void)
{
    return atomic_load(&s_live);
}
