/*
 * cli_show.c - `settle show`: reads claims and prints each in canonical JSON
 * with its content hash (SHA-256 of the canonical binary encoding).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/claim_json.h"
#include "settle/hash.h"
#include "settle/money.h"

typedef struct {
    const char *file;
    int compact;
    int hashes_only;
    unsigned claims;
} s_show_t;

static void s_help(FILE *out)
{
    fprintf(out, "usage: settle show [--compact | --hashes] FILE...\n\n"
                 "Reads claims in canonical JSON (one object, an array, or one object per\n"
                 "line; \"-\" reads standard input), checks each, and prints it back in\n"
                 "canonical form with its content hash: the SHA-256 of its canonical binary\n"
                 "encoding, the identity the ledger gives it.\n\n"
                 "  --compact   one line of JSON per claim, after its hash\n"
                 "  --hashes    only \"HASH  CLAIM-ID  FILE\" per claim\n\n"
                 "exit codes: 0 all claims read, 1 a file or claim was rejected, 2 bad usage\n");
}

static int s_print_claim(const claim_t *claim, void *context)
{
    s_show_t *show = context;
    uint8_t hash[CLAIM_HASH_SIZE];
    char hex[HASH_SHA256_HEX_SIZE];
    int rc = claim_hash(claim, hash);
    if (rc != SETTLE_OK)
        return rc;
    hash_to_hex(hash, sizeof hash, hex);
    show->claims++;
    if (show->hashes_only) {
        printf("%s  %s  %s\n", hex, claim->claim_id, show->file);
        return SETTLE_OK;
    }
    char *json;
    rc = claim_to_json_text(claim, !show->compact, &json);
    if (rc != SETTLE_OK)
        return rc;
    if (show->compact) {
        printf("%s %s\n", hex, json);
    } else {
        char billed[MONEY_TEXT_SIZE];
        money_format(claim->total_charge_cents, billed, sizeof billed);
        printf("# %s: claim %s, %u line%s, %s billed\n# sha256 %s\n%s\n\n", show->file,
               claim->claim_id, claim->line_count, claim->line_count == 1 ? "" : "s", billed, hex,
               json);
    }
    settle_free(json);
    return SETTLE_OK;
}

/* Shows one file's claims; 0 when all were read. */
static int s_show_file(s_show_t *show, const char *path)
{
    char *text;
    size_t size;
    if (cli_read_file(path, &text, &size) != 0)
        return -1;
    settle_error_t error;
    settle_error_clear(&error);
    show->file = path;
    int rc = claim_json_read_text(text, size, path, s_print_claim, show, &error);
    settle_free(text);
    if (rc != SETTLE_OK) {
        if (!error.message[0])
            settle_error_set(&error, rc, "%s", settle_strerror(rc));
        cli_print_error(&error);
        return -1;
    }
    return 0;
}

int cli_show(int argc, char **argv)
{
    s_show_t show = {0};
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--compact") == 0) {
            show.compact = 1;
        } else if (strcmp(argv[i], "--hashes") == 0) {
            show.hashes_only = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "settle show: unknown option \"%s\"\n", argv[i]);
            s_help(stderr);
            return CLI_EXIT_USAGE;
        } else {
            first_file = i;
            break;
        }
    }
    if (first_file == argc) {
        fprintf(stderr, "settle show: no files given\n");
        s_help(stderr);
        return CLI_EXIT_USAGE;
    }
    int rejected = 0;
    for (int i = first_file; i < argc; i++)
        if (s_show_file(&show, argv[i]) != 0)
            rejected++;
    fprintf(stderr, "settle show: %u claim%s from %d file%s, %d file%s rejected\n", show.claims,
            show.claims == 1 ? "" : "s", argc - first_file, argc - first_file == 1 ? "" : "s",
            rejected, rejected == 1 ? "" : "s");
    return rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
}
