/*
 * replay_main.c - runs a libFuzzer target over its saved corpus without
 * libFuzzer, so `make test` replays every corpus with the ordinary compiler.
 *
 *   replay DIR_OR_FILE...
 *
 * Each file is passed once to LLVMFuzzerTestOneInput.  A crash, a sanitizer
 * report or an assertion in the target fails the test; so does an empty
 * corpus, which would make the replay a check that cannot fail.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_FILE_SIZE_MAX (1u << 24)

static int s_replay_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return -1;
    }
    uint8_t *data = malloc(REPLAY_FILE_SIZE_MAX);
    size_t size = data ? fread(data, 1, REPLAY_FILE_SIZE_MAX, file) : 0;
    fclose(file);
    if (!data)
        return -1;
    /* A copy of exactly size bytes, so ASan sees a read past the input. */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

static int s_replay_path(const char *path, unsigned *count)
{
    struct stat info;
    if (stat(path, &info) != 0) {
        fprintf(stderr, "replay: %s: not found\n", path);
        return -1;
    }
    if (!S_ISDIR(info.st_mode)) {
        (*count)++;
        return s_replay_file(path);
    }
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        rc = s_replay_path(child, count);
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    for (int i = 1; i < argc; i++)
        if (s_replay_path(argv[i], &count) != 0)
            return 1;
    if (count == 0) {
        fprintf(stderr, "replay: no corpus files given\n");
        return 1;
    }
    printf("replay: %u inputs, no failure\n", count);
    return 0;
}
