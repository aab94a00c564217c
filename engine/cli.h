/*
 * cli.h - what the `settle` command's subcommands share (private to the
 * program; not a public header).
 *
 * Exit codes, the same for every subcommand, so scripts can trust them:
 *   0  everything read and done
 *   1  some input was rejected (a bad file, a bad claim); the rest was done
 *   2  the command line was wrong; nothing was done
 *   3  the system failed us (out of memory, a file that cannot be written)
 */
#ifndef SETTLE_CLI_H
#define SETTLE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "settle/claim.h"
#include "settle/interp.h"
#include "settle/error.h"
#include "settle/phi.h"
#include "settle/sign.h"

#define CLI_EXIT_OK       0
#define CLI_EXIT_REJECTED 1
#define CLI_EXIT_USAGE    2
#define CLI_EXIT_FAILURE  3

/* The largest input file read whole into memory. */
#define CLI_FILE_SIZE_MAX ((size_t)1 << 30)

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} cli_command_t;

/* Reads a whole file ("-" for standard input) into a NUL-terminated buffer
 * the caller frees with settle_free.  On failure prints "settle: PATH: why"
 * to stderr and returns nonzero. */
int cli_read_file(const char *path, char **text_out, size_t *size_out);

/* ------------------------------------------------------------------------
 * Reading claims in any format (cli_input.c)
 * ------------------------------------------------------------------------ */

typedef enum { CLI_INPUT_JSON, CLI_INPUT_X12, CLI_INPUT_FHIR } cli_input_format_t;

/* The format of a file's text: X12 when it starts with "ISA", FHIR when a
 * "resourceType" key comes early, canonical JSON otherwise. */
cli_input_format_t cli_input_detect(const char *text, size_t size);
const char *cli_input_format_name(cli_input_format_t format);

/* Where the claims read go.  claim: a claim read and checked, the reader's
 * own, valid during the call; a nonzero return stops the reading.
 * rejected (may be NULL): a claim that could not be read, or an envelope or
 * document error (claim_id ""), with the error naming the place. */
typedef struct {
    int (*claim)(const claim_t *claim, void *context);
    void (*rejected)(const char *claim_id, const settle_error_t *error, void *context);
} cli_claim_sink_t;

/* Reads every claim of the file at path ("-": standard input) into sink.
 * Returns 0 when every claim was read, 1 when some were rejected (the
 * others were delivered), -1 when the file could not be read or the
 * reading stopped (the reason printed on stderr). */
int cli_input_read(const char *path, const cli_claim_sink_t *sink, void *context,
                   unsigned *rejected_out);

/* The same for text[0..size) already in memory (a file's content, or
 * standard input's), which path names in errors; the text stays the
 * caller's.  Returns as cli_input_read: -1 only when the reading stopped
 * (a callback's nonzero return, or out of memory), the reason printed on
 * stderr; every claim that cannot be read goes to sink->rejected. */
int cli_input_read_text(const char *path, const char *text, size_t size,
                        const cli_claim_sink_t *sink, void *context, unsigned *rejected_out);

/* ------------------------------------------------------------------------
 * The payer's PHI secret on the client (cli_phi.c, phi.h)
 * ------------------------------------------------------------------------ */

#define CLI_PHI_HELP                                                                               \
    "  --phi FILE     the payer's PHI secret (settle keygen --phi FILE): member ids\n"             \
    "                 become member keys and names, addresses, member ids and birth\n"             \
    "                 dates are sealed before anything leaves (default: the key\n"                 \
    "                 file's name with .phi for .key, when that file exists)\n"

/* Finds a billing provider's X25519 key (its registered Ed25519 key
 * converted): 0, or nonzero when there is none to seal to. */
typedef int (*cli_phi_provider_fn)(void *context, const char *npi,
                                   uint8_t key_out[SIGN_CURVE_KEY_SIZE]);

typedef struct {
    int have;        /* nonzero: key holds the payer's keys */
    int have_party;  /* else nonzero: party is the user's own X25519 secret (its --key),
                        which opens what was sealed for it as a billing provider */
    char path[4096]; /* the secret's file (or the key's), for messages */
    phi_key_t key;
    uint8_t party[SIGN_CURVE_KEY_SIZE];
    claim_t *scratch;             /* the protected copy of the claim in hand */
    cli_phi_provider_fn provider; /* when set, claims are sealed for their billing provider too */
    void *provider_context;
} cli_phi_t;

/* Finds and loads the secret: option (--phi) when given, else key_path
 * with .phi for .key when that file exists; none is not an error (have
 * stays 0), and key_path's own key, when it loads, is then the party's
 * (have_party).  0, or nonzero when a named or found secret cannot be
 * loaded (printed).  Free with cli_phi_free, which wipes the keys. */
int cli_phi_open(cli_phi_t *phi, const char *option, const char *key_path);
void cli_phi_free(cli_phi_t *phi);

/* The claim to submit: *out is claim itself when it is already protected,
 * else a protected copy (valid until the next call).  Nonzero (printed,
 * naming file and claim) when it carries identifiers and there is no
 * secret, or when sealing fails. */
int cli_phi_claim(cli_phi_t *phi, const char *file, const claim_t *claim, const claim_t **out);

/* An enrollment file's text protected for payer: a new YAML text (the
 * caller frees it with settle_free) with member keys for ids and families
 * and no birth dates; the text as it is when already protected.  Nonzero
 * (printed) when it does not load, or carries identifiers and there is no
 * secret. */
int cli_phi_enrollment(cli_phi_t *phi, const char *file, const char *payer, const char *text,
                       size_t size, char **out, size_t *out_size);

/* Prints a `claim` query's answer to out; with the secret, after each
 * claim's "phi" line, what its envelope holds ("patient_member_id",
 * "patient_name", "patient_birth_date", "patient_address").  0, or 1 when
 * an envelope does not open (tampered, or another payer's): its claim then
 * shows "patient_sealed does not open" and stderr says why. */
int cli_phi_reveal_answer(cli_phi_t *phi, const char *text, FILE *out);

/* ------------------------------------------------------------------------
 * Remittances of an offline run (cli_remit.c)
 * ------------------------------------------------------------------------ */

typedef struct cli_remits_s cli_remits_t;

/* One remittance per billing provider, filled claim by claim, from the
 * payer named (either may be NULL: the claims' payer id names it, and an
 * 835 is then refused for want of a tax id).  NULL when out of memory;
 * destroy nulls the pointer and is safe twice. */
cli_remits_t *cli_remits_new(const char *payer_name, const char *payer_tax_id);
void cli_remits_destroy(cli_remits_t **self_p);

/* Adds a claim and its decision to its provider's remittance (copied). */
int cli_remits_add(cli_remits_t *self, const claim_t *claim, const interp_decision_t *decision,
                   settle_error_t *error);

/* Writes each remittance into dir as NPI.835 (format "x12") or
 * NPI.claimresponse.json ("fhir"), dated date; prints one line per file on
 * stderr.  0, or -1 when one was refused or could not be written (the
 * others are still written). */
int cli_remits_write(cli_remits_t *self, const char *format, const char *dir, int32_t date);

/* ------------------------------------------------------------------------
 * Talking to a node (cli_client.c)
 * ------------------------------------------------------------------------ */

#define CLI_ENDPOINTS_MAX      8
#define CLI_ENDPOINT_SIZE      128
#define CLI_ARGUMENTS_MAX      8
#define CLI_TIMEOUT_MS_DEFAULT 2000
#define CLI_TRIES_DEFAULT      60

/* The options every client command takes, and what they print in --help. */
#define CLI_CLIENT_OPTIONS_HELP                                                                    \
    "  --node ENDPOINT[,...]  a node's intake, tcp://HOST:PORT (default: the\n"                    \
    "                         SETTLE_NODE variable, as cluster.env sets it)\n"                     \
    "  --timeout-ms MS        wait this long for each answer (default 2000)\n"                     \
    "  --tries N              ask this many times (default 60)\n"                                  \
    "  --node-key HEX         the node's public key (its Ed25519 key, as registered):\n"           \
    "                         talk CurveZMQ to a node with `transport: curve`, with\n"             \
    "                         --key FILE (default the SETTLE_KEY variable) as yours;\n"            \
    "                         default: SETTLE_NODE_KEY_K for the endpoint SETTLE_NODE_K\n"         \
    "                         (cluster.env), else plain TCP\n"

#define CLI_KEY_PATH_SIZE 4096

typedef struct {
    char *endpoints[CLI_ENDPOINTS_MAX]; /* strdup'd; cli_client_free frees them */
    /* CurveZMQ (node.h, `transport`): the user's key file ("" : $SETTLE_KEY)
     * and the node's Ed25519 public key from --node-key ("" : cluster.env's
     * SETTLE_NODE_KEY_K for the endpoint SETTLE_NODE_K; none: plain TCP). */
    char key_path[CLI_KEY_PATH_SIZE];
    char node_key[SIGN_PUBLIC_KEY_HEX_SIZE];
    int curve_loaded; /* the user's key converted, below */
    uint8_t curve_public[SIGN_CURVE_KEY_SIZE], curve_secret[SIGN_CURVE_KEY_SIZE];
    int failed; /* nonzero: a call cannot be made (the reason printed) */
    unsigned endpoint_count, current;
    char redirect[CLI_ENDPOINT_SIZE]; /* the leader a node named, "" when none */
    int timeout_ms;
    int tries;
    unsigned call_count; /* makes each call's request ids distinct */
    int quiet;           /* nonzero: no "no answer" line on stderr */
    int resent;          /* nonzero: the last call sent its bytes again after a copy that
                          * may have been applied (no answer, or "retry") */
} cli_client_t;

/* One argument frame of a request (not owned). */
typedef struct {
    const void *data;
    size_t size;
} cli_frame_t;

void cli_client_init(cli_client_t *client);
void cli_client_free(cli_client_t *client);

/* Takes --node, --timeout-ms, --tries, --node-key or --key with its value:
 * 1 when taken, 0 when name is not one of them, -1 when the value is bad.
 * A subcommand with a --key of its own reads it first, or takes the
 * client's (key_path), or gives it with cli_client_key. */
int cli_client_option(cli_client_t *client, const char *name, const char *value);

/* The user's key file for CurveZMQ (path NULL: unchanged). */
void cli_client_key(cli_client_t *client, const char *path);

/* A client for one more endpoint that talks as client does: its CurveZMQ
 * settings copied (the endpoints and counters are not). */
void cli_client_inherit(cli_client_t *one, const cli_client_t *client);

/* Sets socket (a DEALER or SUB, not yet connected) to talk to the node
 * whose intake is intake_endpoint: CurveZMQ with the user's key when the
 * node's key is known (--node-key, cluster.env), plain otherwise.  0, or
 * -1 (printed, client->failed set) when the node's key is known but the
 * user's key cannot be had. */
int cli_client_secure(cli_client_t *client, void *socket, const char *intake_endpoint);

/* Falls back to $SETTLE_NODE when no --node was given; -1 when there is
 * no endpoint at all.  Call once the options are read. */
int cli_client_ready(cli_client_t *client);

/* With several endpoints, makes the one whose ledger head is highest the
 * first asked, so that a read sees what the leader last applied (a
 * follower may lag it by a moment).  Each is asked once, briefly. */
void cli_client_prefer_freshest(cli_client_t *client);

/* The endpoint the next request goes to. */
const char *cli_client_endpoint(const cli_client_t *client);

/* Sends verb and its frames until the node answers "ok" (CLI_EXIT_OK) or
 * "error" (CLI_EXIT_REJECTED); *text_out is then the answer's text, which
 * the caller frees with free().  CLI_EXIT_FAILURE (printed) when no node
 * answered within the tries. */
int cli_client_call(cli_client_t *client, const char *verb, const cli_frame_t *frames,
                    unsigned frame_count, char **text_out);

/* The same with text arguments (at most CLI_ARGUMENTS_MAX). */
int cli_client_text(cli_client_t *client, const char *verb, const char *const *arguments,
                    unsigned argument_count, char **text_out);

/* True when an "error" text says the node does not know the verb (a node
 * older than this client). */
int cli_unknown_verb(const char *error_text);

/* Copies the value of the first "KEY VALUE" line of text; -1 when there is
 * none or it does not fit in size. */
int cli_text_field(const char *text, const char *key, char *value_out, size_t size);

/* With the payer's PHI secret, or the billing provider's own key, fills
 * each NM1*QC segment of an 835 *text (malloc'd; replaced) with the
 * patient's names and member id, opening the envelope of its claim
 * (CLP01) of payer (NULL: the 835's REF*2U), which it asks client for; the
 * node's 835 carries only the member key.  0; 1 when the payer's secret
 * did not open an envelope (that segment is left as it was, stderr says
 * why); -1 when out of memory.  Without either, does nothing. */
int cli_phi_fill_835(cli_phi_t *phi, cli_client_t *client, const char *payer, char **text);

/* Makes cli_phi_claim seal each claim for its billing provider too, whose
 * key it asks the node for (`participant npi NPI`, once per provider); a
 * provider the ledger does not know gets no copy. */
void cli_phi_seal_for_providers(cli_phi_t *phi, cli_client_t *client);

/* A progress line on stderr, rewritten in place; only when stderr is a
 * terminal, so that piped and logged output stays clean. */
void cli_progress(const char *format, ...) __attribute__((format(printf, 1, 2)));
void cli_progress_end(void);

/* ------------------------------------------------------------------------
 * Signing commands (cli_submit.c)
 * ------------------------------------------------------------------------ */

/* The signer's next sequence number, asked of the node with the
 * `participant` verb; also checks that key is the one registered for
 * signer (when the node tells).  CLI_EXIT_OK, or another exit code with the
 * reason printed. */
int cli_next_sequence(cli_client_t *client, const char *signer, const char *key_path,
                      uint64_t *sequence_out);

/* Signs a command of type with payload as signer, sequence; *bytes_out is
 * a new buffer (settle_free).  CLI_EXIT_OK or CLI_EXIT_FAILURE (printed). */
int cli_sign_command(const char *key_path, const char *signer, uint64_t sequence, uint8_t type,
                     const uint8_t *payload, size_t payload_size, uint8_t **bytes_out,
                     size_t *size_out);

/* The signer a key file names: "dir/ACMEHP.key" is ACMEHP; -1 when the
 * name does not end in .key or is too long for size. */
int cli_signer_from_key(const char *key, char *out, size_t size);

/* Prints a submit answer a line per fact (each claim's decision, each
 * payment) on out; returns CLI_EXIT_REJECTED when a command or a claim was
 * rejected, CLI_EXIT_OK otherwise. */
int cli_print_answer(const char *text, FILE *out);

/* ------------------------------------------------------------------------
 * Key pairs (cli_keygen.c)
 * ------------------------------------------------------------------------ */

/* Makes a key pair: the private key at path (0600), the public key's hex at
 * path.pub, never replacing either; hex_out (may be NULL) gets the public
 * key.  An exit code, the reason printed. */
int cli_keygen_write(const char *path, char hex_out[65]);

/* Prints an error record as one line on stderr, prefixed "settle: ". */
void cli_print_error(const settle_error_t *error);

/* True when argument is -h or --help. */
int cli_is_help(const char *argument);

/* The subcommands. */
int cli_show(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_adjudicate(int argc, char **argv);
int cli_check_contract(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_submit(int argc, char **argv); /* cli_submit.c: submit and head */
int cli_head(int argc, char **argv);
int cli_status(int argc, char **argv); /* cli_query.c: status, remit, stats, pay */
int cli_remit(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_pay(int argc, char **argv);
int cli_watch(int argc, char **argv);   /* cli_watch.c */
int cli_cluster(int argc, char **argv); /* cli_cluster.c: up and down */
int cli_intake(int argc, char **argv);  /* cli_intake.c */
int cli_audit(int argc, char **argv);   /* cli_audit.c: verify and claim */

#endif
