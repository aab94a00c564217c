/*
 * settled_main.c - the node daemon's command line: `settled --config FILE`,
 * `--help`, `--version`.  Everything else is node.c's.
 *
 * Exit codes: 0 clean stop, 2 bad command line or configuration, 3 the node
 * could not start.
 */
#include <stdio.h>
#include <string.h>

#include "settle/node.h"

static void s_usage(FILE *out)
{
    fprintf(out, "usage: settled --config FILE\n\n"
                 "Runs one settle node: libraft over a SQLite ledger in the configured data\n"
                 "directory, and a ZeroMQ intake for clients (`settle submit`, `settle head`).\n"
                 "Stops cleanly on SIGTERM or SIGINT.  Logs one line per event on stderr.\n\n"
                 "  --config FILE   the node's YAML configuration (see include/settle/node.h)\n"
                 "  --help          this text\n"
                 "  --version       the version\n"
                 "exit codes: 0 clean stop, 2 bad usage or configuration, 3 cannot start\n");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("settled %s\n", SETTLE_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
            continue;
        }
        fprintf(stderr, "settled: unexpected \"%s\"\n\n", argv[i]);
        s_usage(stderr);
        return 2;
    }
    if (!config_path) {
        s_usage(stderr);
        return 2;
    }
    static node_config_t config;
    settle_error_t error;
    settle_error_clear(&error);
    char line[1024];
    if (node_config_load(config_path, &config, &error) != SETTLE_OK) {
        settle_error_format(&error, line, sizeof line);
        fprintf(stderr, "settled: %s\n", line);
        return 2;
    }
    if (node_run(&config, &error) != SETTLE_OK) {
        settle_error_format(&error, line, sizeof line);
        fprintf(stderr, "settled: cannot start: %s\n", line);
        return 3;
    }
    return 0;
}
