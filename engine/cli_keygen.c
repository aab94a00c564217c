/*
 * cli_keygen.c - `settle keygen`: makes a participant's Ed25519 key pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "settle/sign.h"

static void s_help(FILE *out)
{
    fprintf(out, "usage: settle keygen [--out FILE]\n"
                 "       settle keygen --phi FILE\n\n"
                 "Makes an Ed25519 key pair, the identity of a payer, provider, auditor or\n"
                 "node.  Writes the private key to FILE (default settle.key) with mode 0600\n"
                 "and the public key, as 64 hex digits, to FILE.pub; prints the public key,\n"
                 "which is what the genesis file and the ledger register.  Never overwrites\n"
                 "an existing file.\n\n"
                 "With --phi, makes a payer's PHI secret instead: 32 random bytes as 64 hex\n"
                 "digits in FILE, mode 0600.  It never leaves the payer: `settle submit`\n"
                 "derives member keys from it and seals patient identifiers with it, and only\n"
                 "it opens them again (`settle status --phi FILE`).  Name it like the payer's\n"
                 "key with .phi for .key (ACMEHP.phi beside ACMEHP.key) and the clients find\n"
                 "it by themselves.  Keep a copy somewhere safe: without it the payer cannot\n"
                 "read back who its claims were for.\n\n"
                 "exit codes: 0 written, 1 a file is already there, 2 bad usage, 3 failure\n");
}

/* Writes the public key file, refusing to replace one. */
static int s_write_public(const char *path, const char *hex)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        fprintf(stderr, "settle keygen: %s: %s\n", path,
                errno == EEXIST ? "a file is already there; settle never overwrites a key"
                                : strerror(errno));
        return errno == EEXIST ? CLI_EXIT_REJECTED : CLI_EXIT_FAILURE;
    }
    char line[SIGN_PUBLIC_KEY_HEX_SIZE + 1];
    snprintf(line, sizeof line, "%s\n", hex);
    ssize_t written = write(fd, line, strlen(line));
    if (close(fd) != 0 || written != (ssize_t)strlen(line)) {
        unlink(path);
        fprintf(stderr, "settle keygen: %s: cannot write\n", path);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int cli_keygen_write(const char *path, char hex_out[65])
{
    char public_path[4096];
    if ((size_t)snprintf(public_path, sizeof public_path, "%s.pub", path) >= sizeof public_path) {
        fprintf(stderr, "settle keygen: the file name is too long\n");
        return CLI_EXIT_USAGE;
    }
    if (access(public_path, F_OK) == 0) {
        fprintf(stderr,
                "settle keygen: %s: a file is already there; settle never overwrites a key\n",
                public_path);
        return CLI_EXIT_REJECTED;
    }
    sign_key_t *key = NULL;
    if (sign_key_generate(&key) != SETTLE_OK) {
        fprintf(stderr, "settle keygen: cannot make a key (OpenSSL failed)\n");
        return CLI_EXIT_FAILURE;
    }
    settle_error_t error;
    settle_error_clear(&error);
    int rc = sign_key_save(key, path, &error);
    char hex[SIGN_PUBLIC_KEY_HEX_SIZE];
    sign_key_public_hex(key, hex);
    sign_key_destroy(&key);
    if (rc != SETTLE_OK) {
        cli_print_error(&error);
        return rc == SETTLE_ERR_EXISTS ? CLI_EXIT_REJECTED : CLI_EXIT_FAILURE;
    }
    int exit_code = s_write_public(public_path, hex);
    if (exit_code != CLI_EXIT_OK) {
        unlink(path); /* no private key without its public half */
        return exit_code;
    }
    if (hex_out)
        memcpy(hex_out, hex, SIGN_PUBLIC_KEY_HEX_SIZE);
    return CLI_EXIT_OK;
}

/* settle keygen --phi FILE */
static int s_phi(const char *path)
{
    settle_error_t error;
    settle_error_clear(&error);
    int rc = phi_key_generate(path, &error);
    if (rc != SETTLE_OK) {
        cli_print_error(&error);
        return rc == SETTLE_ERR_EXISTS ? CLI_EXIT_REJECTED : CLI_EXIT_FAILURE;
    }
    fprintf(stderr, "settle keygen: wrote the PHI secret %s (private, mode 0600)\n", path);
    return CLI_EXIT_OK;
}

int cli_keygen(int argc, char **argv)
{
    const char *path = "settle.key";
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--phi") == 0 && i + 1 < argc && argc == 3) {
            return s_phi(argv[++i]);
        } else {
            fprintf(stderr, "settle keygen: unexpected \"%s\"\n", argv[i]);
            s_help(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    char hex[SIGN_PUBLIC_KEY_HEX_SIZE];
    int exit_code = cli_keygen_write(path, hex);
    if (exit_code != CLI_EXIT_OK)
        return exit_code;
    printf("%s\n", hex);
    fprintf(stderr, "settle keygen: wrote %s (private, mode 0600) and %s.pub\n", path, path);
    return CLI_EXIT_OK;
}
