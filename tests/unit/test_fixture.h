/*
 * test_fixture.h - reading a file of fixtures/ into memory, for tests.
 * Header-only.  SETTLE_SOURCE_DIR is the repository's top folder, defined
 * for every unit test by tests/CMakeLists.txt.
 */
#ifndef SETTLE_TEST_FIXTURE_H
#define SETTLE_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads SETTLE_SOURCE_DIR/fixtures/folder/name into a malloc'd buffer of
 * exactly its size (no NUL after it, so a reader that runs past the end is
 * caught by the sanitizers); fails the test when it cannot. */
static inline char *test_fixture_load(const char *folder, const char *name, size_t *length_out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/%s/%s", SETTLE_SOURCE_DIR, folder, name);
    FILE *file = fopen(path, "rb");
    if (!file)
        fail_msg("cannot open %s", path);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = malloc(size > 0 ? (size_t)size : 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
    fclose(file);
    *length_out = (size_t)size;
    return text;
}

#endif
