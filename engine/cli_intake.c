/*
 * cli_intake.c - `settle intake --watch DIR`: the intake adapter a payer
 * leaves running.  Files of claims (X12 837, FHIR, canonical JSON) dropped
 * into DIR are read, acknowledged (999, 277CA, JSON), signed in batches,
 * submitted, and moved to DIR/done/ or DIR/failed/ with their
 * acknowledgments and the node's answers beside them.
 *
 * Which files are taken: regular files whose name does not start with "."
 * and does not end in ".part" or ".tmp", once their last change is at
 * least --stable-ms old.  A writer that writes a file under a hidden or
 * .part name and renames it in when complete is never read half-written;
 * one that writes in place is read once it has been still for --stable-ms.
 *
 * Crash safety: nothing is sent before it is journaled.  For each file,
 * DIR/.intake/HASH/ (HASH the SHA-256 of the file's bytes) receives the
 * signed batches' exact bytes, the acknowledgments and a manifest, made in
 * HASH.tmp/ and renamed into place, every file fsync'd.  Each batch is
 * marked sent before it is sent and its answer is written once received;
 * the file is moved only after every batch has its answer, and the journal
 * removed last.  After a crash the journal is finished first: unanswered
 * batches are sent again, byte for byte, so the ledger applies each at
 * most once (a second copy is refused as a replayed sequence number, and a
 * claim id is settled once); an unfinished HASH.tmp/ was never sent and is
 * dropped, its file read again.  Each signer's sequence numbers are
 * assumed to be the intake's own: run one intake per signing key.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "settle/alloc.h"
#include "settle/claim_codec.h"
#include "settle/command.h"
#include "settle/hash.h"
#include "settle/x12_ack.h"

#define PATH_SIZE            4096
#define BATCH_CLAIMS_DEFAULT 1000
#define FILE_CLAIMS_MAX      100000
#define FILES_PER_PASS_MAX   10000
#define BATCHES_MAX          (FILE_CLAIMS_MAX + 1)
#define STABLE_MS_DEFAULT    2000
#define INTERVAL_MS_DEFAULT  1000

typedef struct {
    cli_client_t client;
    const char *dir, *key, *signer, *payer, *phi_path;
    cli_phi_t phi;           /* the payer's PHI secret: every claim is protected */
    char journal[PATH_SIZE]; /* DIR/.intake */
    long long sequence;      /* the next to use when given; -1: ask the node */
    unsigned batch_claims;
    long stable_ms, interval_ms;
    int once;
    unsigned files_done, files_failed, claims_rejected;
} s_intake_t;

static volatile sig_atomic_t s_stopping;

static void s_on_signal(int signal_number)
{
    (void)signal_number;
    s_stopping = 1;
}

/* ------------------------------------------------------------------------
 * Durable files
 * ------------------------------------------------------------------------ */

static int s_join(char *out, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, PATH_SIZE, "%s/%s", dir, name) >= PATH_SIZE) {
        fprintf(stderr, "settle intake: %s/%s: the path is too long\n", dir, name);
        return -1;
    }
    return 0;
}

static int s_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Writes data to dir/name durably: a temporary, fsync, rename, fsync of
 * the folder.  -1 (printed) on failure. */
static int s_write_durable(const char *dir, const char *name, const void *data, size_t size)
{
    char path[PATH_SIZE], temporary[PATH_SIZE + 8];
    if (s_join(path, dir, name) != 0)
        return -1;
    snprintf(temporary, sizeof temporary, "%s.new", path);
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ssize_t written = fd >= 0 ? write(fd, data, size) : -1;
    int rc = fd >= 0 && written == (ssize_t)size && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(temporary, path) != 0)
        rc = -1;
    if (rc == 0)
        rc = s_sync_dir(dir);
    if (rc != 0)
        fprintf(stderr, "settle intake: %s: cannot write: %s\n", path, strerror(errno));
    return rc;
}

/* Reads dir/name whole (settle_free); -1 when it is not there. */
static int s_read(const char *dir, const char *name, char **text_out, size_t *size_out)
{
    char path[PATH_SIZE];
    if (s_join(path, dir, name) != 0 || access(path, F_OK) != 0)
        return -1;
    return cli_read_file(path, text_out, size_out);
}

static int s_exists(const char *dir, const char *name)
{
    char path[PATH_SIZE];
    return s_join(path, dir, name) == 0 && access(path, F_OK) == 0;
}

/* Removes a journal folder and what is in it (no subfolders). */
static int s_remove_job(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    char file[PATH_SIZE];
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
            if (s_join(file, path, e->d_name) == 0)
                unlink(file);
    closedir(d);
    return rmdir(path);
}

/* ------------------------------------------------------------------------
 * Reading a file: its claims and acknowledgments
 * ------------------------------------------------------------------------ */

typedef struct {
    x12_ack_t *ack;
    uint8_t **claims;
    size_t *sizes;
    char (*ids)[CLAIM_ID_SIZE];
    uint32_t count, capacity;
    int failed; /* out of memory, too many claims, or a claim that cannot be protected */
    const char *path;
    cli_phi_t *phi;
} s_claims_t;

static int s_on_claim(const claim_t *claim, void *context)
{
    s_claims_t *c = context;
    if (x12_ack_on_claim(claim, c->ack) != SETTLE_OK)
        return c->failed = 1, SETTLE_ERR_NOMEM;
    if (c->count == FILE_CLAIMS_MAX) {
        fprintf(stderr, "settle intake: %s: more than %u claims in one file\n", c->path,
                FILE_CLAIMS_MAX);
        return c->failed = 1, SETTLE_ERR_TOO_MANY;
    }
    if (c->count == c->capacity) {
        uint32_t capacity = c->capacity ? c->capacity * 2 : 64;
        uint8_t **claims = settle_realloc(c->claims, capacity * sizeof *claims);
        if (claims)
            c->claims = claims;
        size_t *sizes = settle_realloc(c->sizes, capacity * sizeof *sizes);
        if (sizes)
            c->sizes = sizes;
        char(*ids)[CLAIM_ID_SIZE] = settle_realloc(c->ids, capacity * sizeof *ids);
        if (ids)
            c->ids = ids;
        if (!claims || !sizes || !ids)
            return c->failed = 1, SETTLE_ERR_NOMEM;
        c->capacity = capacity;
    }
    const claim_t *protected_claim;
    if (cli_phi_claim(c->phi, c->path, claim, &protected_claim) != 0)
        return c->failed = 1, SETTLE_ERR_INVALID;
    if (claim_encode(protected_claim, &c->claims[c->count], &c->sizes[c->count]) != SETTLE_OK)
        return c->failed = 1, SETTLE_ERR_NOMEM;
    snprintf(c->ids[c->count], CLAIM_ID_SIZE, "%s", claim->claim_id);
    c->count++;
    return SETTLE_OK;
}

static int s_on_problem(x12_837_problem_t problem, const char *claim_id,
                        const settle_error_t *error, void *context)
{
    (void)problem;
    (void)claim_id;
    (void)context;
    cli_print_error(error);
    return 0;
}

static void s_on_rejected(const char *claim_id, const settle_error_t *error, void *context)
{
    s_claims_t *c = context;
    cli_print_error(error);
    x12_837_problem_t problem = claim_id[0] ? X12_837_CLAIM_REJECTED : X12_837_ENVELOPE_ERROR;
    if (x12_ack_on_problem(problem, claim_id, error, c->ack) != SETTLE_OK)
        c->failed = 1;
}

static void s_claims_free(s_claims_t *c)
{
    for (uint32_t i = 0; i < c->count; i++)
        settle_free(c->claims[i]);
    settle_free(c->claims);
    settle_free(c->sizes);
    settle_free(c->ids);
    x12_ack_destroy(&c->ack);
}

/* Drops the claims the acknowledgment rejects (a claim read before its
 * transaction set's trailer turned out bad), by the JSON form's
 * "accepted" list. */
static int s_keep_accepted(s_claims_t *c, const char *ack_json)
{
    json_error_t json_error;
    json_t *root = json_loads(ack_json, 0, &json_error);
    json_t *accepted = root ? json_object_get(root, "accepted") : NULL;
    if (!json_is_array(accepted)) {
        json_decref(root);
        return -1;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->count; i++) {
        int found = 0;
        for (size_t j = 0; j < json_array_size(accepted) && !found; j++) {
            const char *id = json_string_value(json_array_get(accepted, j));
            found = id && strcmp(id, c->ids[i]) == 0;
        }
        if (!found) {
            settle_free(c->claims[i]);
            continue;
        }
        c->claims[kept] = c->claims[i];
        c->sizes[kept] = c->sizes[i];
        memmove(c->ids[kept], c->ids[i], CLAIM_ID_SIZE);
        kept++;
    }
    c->count = kept;
    json_decref(root);
    return 0;
}

/* ------------------------------------------------------------------------
 * A journal entry (a job): made, then finished
 * ------------------------------------------------------------------------ */

/* The acknowledgments into the job folder: ack.json always, ack.999 and
 * ack.277 for an X12 file. */
static int s_write_acks(const char *job, const s_claims_t *c, int x12, const char *hash_hex,
                        char **json_out)
{
    char date[16], clock[8];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(date, sizeof date, "%Y%m%d", &utc);
    strftime(clock, sizeof clock, "%H%M", &utc);
    /* The control number comes from the file's hash: the same file gets
     * the same acknowledgments when a crash makes them be written again. */
    char prefix[8];
    memcpy(prefix, hash_hex, 7);
    prefix[7] = '\0';
    uint32_t control_number = (uint32_t)(strtoul(prefix, NULL, 16) % 999999999u) + 1;
    x12_ack_stamp_t stamp = {control_number, date, clock};
    char *text = NULL;
    size_t length = 0;
    int rc = 0;
    if (x12 && x12_ack_write_999(c->ack, &stamp, &text, &length) == SETTLE_OK) {
        rc |= s_write_durable(job, "ack.999", text, length);
        settle_free(text);
    }
    if (x12 && x12_ack_write_277(c->ack, &stamp, &text, &length) == SETTLE_OK) {
        rc |= s_write_durable(job, "ack.277", text, length);
        settle_free(text);
    }
    if (x12_ack_write_json(c->ack, &text, &length) != SETTLE_OK)
        return -1;
    rc |= s_write_durable(job, "ack.json", text, length);
    *json_out = text;
    return rc;
}

/* Signs the claims in batches of s->batch_claims into the job folder. */
static int s_write_batches(s_intake_t *s, const char *job, const s_claims_t *c,
                           unsigned *batches_out)
{
    uint64_t sequence = (uint64_t)s->sequence;
    unsigned batches = (c->count + s->batch_claims - 1) / s->batch_claims;
    if (batches > 0 && s->sequence < 0 &&
        cli_next_sequence(&s->client, s->signer, s->key, &sequence) != CLI_EXIT_OK)
        return 1; /* no node, or the wrong key: the file waits */
    for (unsigned b = 0; b < batches; b++) {
        uint32_t first = b * s->batch_claims;
        uint32_t count = c->count - first < s->batch_claims ? c->count - first : s->batch_claims;
        uint8_t *payload = NULL, *bytes = NULL;
        size_t payload_size = 0, size = 0;
        char name[32];
        int rc = command_batch_encode(s->payer, (const uint8_t *const *)c->claims + first,
                                      c->sizes + first, count, &payload, &payload_size) == SETTLE_OK
                     ? cli_sign_command(s->key, s->signer, sequence + b, COMMAND_BATCH, payload,
                                        payload_size, &bytes, &size)
                     : -1;
        snprintf(name, sizeof name, "batch-%06u.cmd", b);
        if (rc == 0)
            rc = s_write_durable(job, name, bytes, size);
        settle_free(payload);
        settle_free(bytes);
        size_t ids_size = 0, ids_capacity = (size_t)count * (CLAIM_ID_SIZE + 1) + 1;
        char *ids = rc == 0 ? settle_malloc(ids_capacity) : NULL;
        for (uint32_t i = 0; ids && i < count; i++)
            ids_size += (size_t)snprintf(ids + ids_size, ids_capacity - ids_size, "%s\n",
                                         c->ids[first + i]);
        snprintf(name, sizeof name, "batch-%06u.ids", b);
        if (!ids || s_write_durable(job, name, ids, ids_size) != 0)
            rc = -1;
        settle_free(ids);
        if (rc != 0)
            return 1; /* an unreadable key or a full disk: the file waits */
    }
    if (s->sequence >= 0)
        s->sequence += batches;
    *batches_out = batches;
    return 0;
}

/* Reads the file, journals its signed batches and acknowledgments in
 * DIR/.intake/HASH.tmp, then renames it to HASH.  0; 1 when the file must
 * wait (no node told the sequence number, the key cannot sign); -1 when
 * it cannot be read (printed). */
static int s_job_make(s_intake_t *s, const char *name, const char *text, size_t size,
                      const char *hash_hex)
{
    char job[PATH_SIZE], made[PATH_SIZE], path[PATH_SIZE];
    if (s_join(made, s->journal, hash_hex) != 0 || s_join(path, s->dir, name) != 0)
        return -1;
    snprintf(job, sizeof job, "%.4000s.tmp", made);
    s_remove_job(job);
    if (mkdir(job, 0700) != 0) {
        fprintf(stderr, "settle intake: %s: cannot make: %s\n", job, strerror(errno));
        return -1;
    }
    s_claims_t c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.phi = &s->phi;
    c.ack = x12_ack_new(path);
    int x12 = cli_input_detect(text, size) == CLI_INPUT_X12;
    int rc = c.ack ? 0 : -1;
    if (rc == 0 && x12) {
        x12_837_callbacks_t callbacks = {s_on_claim, s_on_problem};
        rc = x12_ack_read_837(c.ack, text, size, &callbacks, &c, false, NULL) == SETTLE_OK ||
                     !c.failed
                 ? 0
                 : -1;
    } else if (rc == 0) {
        cli_claim_sink_t sink = {s_on_claim, s_on_rejected};
        rc = cli_input_read_text(path, text, size, &sink, &c, NULL) < 0 && c.failed ? -1 : 0;
    }
    char *ack_json = NULL;
    unsigned batches = 0;
    if (rc == 0 && !c.failed)
        rc = s_write_acks(job, &c, x12, hash_hex, &ack_json);
    if (rc == 0 && !c.failed)
        rc = s_keep_accepted(&c, ack_json);
    if (rc == 0 && !c.failed)
        rc = s_write_batches(s, job, &c, &batches);
    char manifest[256];
    int length =
        snprintf(manifest, sizeof manifest, "source %s\nbatches %u\nclaims %u\nrejected %u\n", name,
                 batches, c.count, c.ack ? x12_ack_rejected_count(c.ack) : 0);
    if (rc == 0 && !c.failed)
        rc = s_write_durable(job, "manifest", manifest, (size_t)length);
    if (rc == 0 && !c.failed && (rename(job, made) != 0 || s_sync_dir(s->journal) != 0)) {
        fprintf(stderr, "settle intake: %s: cannot rename: %s\n", job, strerror(errno));
        rc = -1;
    }
    settle_free(ack_json);
    s_claims_free(&c);
    if (rc != 0 || c.failed) {
        s_remove_job(job);
        return rc > 0 && !c.failed ? 1 : -1;
    }
    return 0;
}

/* True when the node's refusal says the sequence number was used. */
static int s_sequence_used(const char *text)
{
    return text && strstr(text, "replayed sequence ");
}

/* After a refusal of a batch sent before: are its claims on the ledger?
 * 1 yes, 0 no, -1 the node cannot tell (no `claim` verb). */
static int s_batch_on_ledger(s_intake_t *s, const char *job, const char *ids_name)
{
    char *ids = NULL;
    size_t size = 0;
    if (s_read(job, ids_name, &ids, &size) != 0)
        return -1;
    int verdict = 1;
    cli_client_prefer_freshest(&s->client);
    for (char *line = strtok(ids, "\n"); line && verdict == 1; line = strtok(NULL, "\n")) {
        char *text = NULL;
        const char *arguments[] = {line, s->payer};
        int rc = cli_client_text(&s->client, "claim", arguments, 2, &text);
        if (rc == CLI_EXIT_REJECTED && cli_unknown_verb(text))
            verdict = -1;
        else if (rc != CLI_EXIT_OK)
            verdict = 0;
        free(text);
    }
    settle_free(ids);
    return verdict;
}

/* Sends batch b of the job (again, when it was sent before) and writes its
 * answer.  0 answered (accepted or refused: written), -1 no answer. */
static int s_send_batch(s_intake_t *s, const char *job, unsigned b, unsigned batches)
{
    char name[32], sent[32], ids[32];
    snprintf(name, sizeof name, "batch-%06u.cmd", b);
    snprintf(sent, sizeof sent, "batch-%06u.sent", b);
    snprintf(ids, sizeof ids, "batch-%06u.ids", b);
    char *bytes = NULL;
    size_t size = 0;
    if (s_read(job, name, &bytes, &size) != 0)
        return -1;
    int resent = s_exists(job, sent);
    if (!resent && s_write_durable(job, sent, "", 0) != 0) {
        settle_free(bytes);
        return -1;
    }
    cli_progress("settle intake: batch %u of %u%s", b + 1, batches, resent ? " (again)" : "");
    cli_frame_t frame = {bytes, size};
    char *text = NULL;
    int rc = cli_client_call(&s->client, "submit", &frame, 1, &text);
    settle_free(bytes);
    if (rc == CLI_EXIT_FAILURE)
        return -1;
    char answer[PATH_SIZE];
    int length;
    if (rc == CLI_EXIT_OK) {
        length = snprintf(answer, sizeof answer, "%s", text);
    } else if ((resent || s->client.resent) && s_sequence_used(text)) {
        int on_ledger = s_batch_on_ledger(s, job, ids);
        length = snprintf(answer, sizeof answer, "%s: %s\n",
                          on_ledger == 1   ? "replay (applied before its answer came; see "
                                             "`settle status`)"
                          : on_ledger == 0 ? "error: refused, and its claims are not on the ledger"
                                           : "error: refused as a replay, and the node cannot "
                                             "tell whether its claims are on the ledger",
                          text);
    } else {
        length = snprintf(answer, sizeof answer, "error: %s\n", text);
    }
    snprintf(name, sizeof name, "batch-%06u.answer", b);
    const char *full = rc == CLI_EXIT_OK ? text : answer;
    size_t full_size = rc == CLI_EXIT_OK ? strlen(text) : (size_t)length;
    int written = s_write_durable(job, name, full, full_size);
    free(text);
    return written;
}

/* Copies job/from to dest/name.suffix. */
static int s_copy_out(const char *job, const char *from, const char *dest, const char *name,
                      const char *suffix)
{
    char *text = NULL, target[PATH_SIZE + 64];
    size_t size = 0;
    if (s_read(job, from, &text, &size) != 0)
        return 0;
    snprintf(target, sizeof target, "%.3000s.%s", name, suffix);
    int rc = s_write_durable(dest, target, text, size);
    settle_free(text);
    return rc;
}

/* Collects the batches' answers into one text (settle_free); *failed_out
 * when a batch was refused, *rejected_out counts rejected claims. */
static char *s_answers(const char *job, unsigned batches, int *failed_out, unsigned *rejected_out)
{
    size_t total = 0;
    char *all = settle_malloc(1);
    FILE *sink = fopen("/dev/null", "w");
    all[0] = '\0';
    for (unsigned b = 0; all && b < batches; b++) {
        char name[32], *text = NULL;
        size_t size = 0;
        snprintf(name, sizeof name, "batch-%06u.answer", b);
        if (s_read(job, name, &text, &size) != 0)
            continue;
        if (strncmp(text, "error", 5) == 0)
            *failed_out = 1;
        for (char *line = text; sink && line; line = strchr(line, '\n'), line += !!line) {
            char *end_of_line = strchr(line, '\n');
            if (strncmp(line, "command ", 8) == 0 && strstr(line, " rejected") &&
                (!end_of_line || strstr(line, " rejected") < end_of_line))
                *failed_out = 1; /* the node refused the whole batch */
            if (strncmp(line, "claim ", 6) == 0) {
                char *end = strchr(line, '\n');
                char one[1024];
                snprintf(one, sizeof one, "%.*s\n", (int)(end ? end - line : (long)strlen(line)),
                         line);
                *rejected_out += cli_print_answer(one, sink) != CLI_EXIT_OK;
            }
        }
        char *grown = settle_realloc(all, total + size + 32);
        if (grown) {
            all = grown;
            total += (size_t)snprintf(all + total, size + 32, "# batch %u\n%s", b, text);
        }
        settle_free(text);
    }
    if (sink)
        fclose(sink);
    return all;
}

/* Finishes a journaled job: sends what has no answer, writes the
 * acknowledgments and answers beside the file in done/ or failed/, moves
 * the file, removes the journal.  0 done, -1 left for later. */
static int s_job_finish(s_intake_t *s, const char *hash_hex)
{
    char job[PATH_SIZE], name[PATH_SIZE], *manifest = NULL;
    size_t size = 0;
    unsigned batches = 0, claims = 0, rejected = 0;
    if (s_join(job, s->journal, hash_hex) != 0 || s_read(job, "manifest", &manifest, &size) != 0)
        return -1;
    int parsed = sscanf(manifest, "source %4000[^\n]\nbatches %u\nclaims %u\nrejected %u", name,
                        &batches, &claims, &rejected);
    settle_free(manifest);
    if (parsed != 4 || batches > BATCHES_MAX) {
        fprintf(stderr, "settle intake: %s/manifest: unreadable; the journal is left as it is\n",
                job);
        return -1;
    }
    for (unsigned b = 0; b < batches && !s_stopping; b++) {
        char answer[32];
        snprintf(answer, sizeof answer, "batch-%06u.answer", b);
        if (!s_exists(job, answer) && s_send_batch(s, job, b, batches) != 0)
            return -1;
    }
    if (s_stopping)
        return -1;
    cli_progress_end();
    int failed = batches == 0;
    unsigned claims_rejected = 0;
    char *answers = s_answers(job, batches, &failed, &claims_rejected);
    const char *folder = failed ? "failed" : "done";
    char dest[PATH_SIZE], source[PATH_SIZE], target[PATH_SIZE];
    int rc = answers && s_join(dest, s->dir, folder) == 0 ? 0 : -1;
    if (rc == 0)
        rc = s_write_durable(job, "answers", answers, strlen(answers));
    settle_free(answers);
    if (rc == 0)
        rc = s_copy_out(job, "ack.999", dest, name, "999") |
             s_copy_out(job, "ack.277", dest, name, "277") |
             s_copy_out(job, "ack.json", dest, name, "ack.json") |
             s_copy_out(job, "answers", dest, name, "answer");
    /* The file moves only if it still holds these bytes: one rewritten
     * since is a new file, for the next pass. */
    char *text = NULL;
    size_t text_size = 0;
    uint8_t digest[HASH_SHA256_SIZE];
    char hex[HASH_SHA256_HEX_SIZE];
    if (rc == 0 && s_join(source, s->dir, name) == 0 && s_join(target, dest, name) == 0 &&
        s_read(s->dir, name, &text, &text_size) == 0) {
        hash_sha256(text, text_size, digest);
        hash_to_hex(digest, sizeof digest, hex);
        if (strcmp(hex, hash_hex) == 0 &&
            (rename(source, target) != 0 || s_sync_dir(dest) != 0 || s_sync_dir(s->dir) != 0)) {
            fprintf(stderr, "settle intake: %s: cannot move to %s: %s\n", source, dest,
                    strerror(errno));
            rc = -1;
        }
    }
    settle_free(text);
    if (rc != 0)
        return -1;
    s_remove_job(job);
    s_sync_dir(s->journal);
    printf("%s: %u claim%s in %u batch%s, %u rejected on reading, %u rejected by the ledger -> "
           "%s/\n",
           name, claims, claims == 1 ? "" : "s", batches, batches == 1 ? "" : "es", rejected,
           claims_rejected, folder);
    fflush(stdout);
    if (failed)
        s->files_failed++;
    else
        s->files_done++;
    s->claims_rejected += rejected + claims_rejected;
    return 0;
}

/* ------------------------------------------------------------------------
 * Passes over the folder
 * ------------------------------------------------------------------------ */

static int s_is_hash(const char *name)
{
    if (strlen(name) != HASH_SHA256_HEX_SIZE - 1)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* Finishes every journaled job (what a crash left); drops unfinished ones. */
static int s_recover(s_intake_t *s)
{
    DIR *d = opendir(s->journal);
    if (!d)
        return -1;
    char names[64][HASH_SHA256_HEX_SIZE + 8];
    unsigned count = 0;
    for (struct dirent *e; (e = readdir(d)) && count < 64;)
        if (s_is_hash(e->d_name) || (strlen(e->d_name) == 68 && strstr(e->d_name, ".tmp")))
            snprintf(names[count++], sizeof names[0], "%.68s", e->d_name);
    closedir(d);
    int rc = 0;
    for (unsigned i = 0; i < count && !s_stopping; i++) {
        char path[PATH_SIZE];
        if (!s_is_hash(names[i])) {
            if (s_join(path, s->journal, names[i]) == 0)
                s_remove_job(path); /* made but never sent */
        } else if (s_job_finish(s, names[i]) != 0) {
            rc = -1;
        }
    }
    return rc;
}

static int s_ignored(const char *name)
{
    size_t length = strlen(name);
    return name[0] == '.' || (length > 5 && strcmp(name + length - 5, ".part") == 0) ||
           (length > 4 && strcmp(name + length - 4, ".tmp") == 0);
}

static int s_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One file: journaled, then finished.  0 done, -1 left or failed. */
static int s_take(s_intake_t *s, const char *name)
{
    char path[PATH_SIZE], job[PATH_SIZE];
    char *text = NULL;
    size_t size = 0;
    if (s_join(path, s->dir, name) != 0 || cli_read_file(path, &text, &size) != 0)
        return -1;
    uint8_t digest[HASH_SHA256_SIZE];
    char hex[HASH_SHA256_HEX_SIZE];
    hash_sha256(text, size, digest);
    hash_to_hex(digest, sizeof digest, hex);
    int rc = s_join(job, s->journal, hex) == 0 && access(job, F_OK) == 0
                 ? 0
                 : s_job_make(s, name, text, size, hex);
    settle_free(text);
    if (rc > 0)
        return -1; /* left in place for the next pass */
    if (rc != 0) {
        char failed[PATH_SIZE], target[PATH_SIZE];
        if (s_join(failed, s->dir, "failed") == 0 && s_join(target, failed, name) == 0 &&
            rename(path, target) == 0) {
            printf("%s: could not be read or signed -> failed/\n", name);
            s->files_failed++;
        }
        return -1;
    }
    return s_job_finish(s, hex);
}

/* One pass: the journal, then every file ready in the folder. */
static int s_pass(s_intake_t *s)
{
    int rc = s_recover(s);
    DIR *d = opendir(s->dir);
    if (!d) {
        fprintf(stderr, "settle intake: %s: cannot read: %s\n", s->dir, strerror(errno));
        return -1;
    }
    char *names[FILES_PER_PASS_MAX];
    unsigned count = 0;
    time_t now = time(NULL);
    for (struct dirent *e; (e = readdir(d)) && count < FILES_PER_PASS_MAX;) {
        char path[PATH_SIZE];
        struct stat st;
        if (s_ignored(e->d_name) || s_join(path, s->dir, e->d_name) != 0 || stat(path, &st) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        long age_ms = (long)(now - st.st_mtime) * 1000;
        if (age_ms >= s->stable_ms && (names[count] = strdup(e->d_name)))
            count++;
    }
    closedir(d);
    qsort(names, count, sizeof names[0], s_compare);
    for (unsigned i = 0; i < count; i++) {
        if (!s_stopping && s_take(s, names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * The command line
 * ------------------------------------------------------------------------ */

static const char s_usage[] =
    "usage: settle intake --watch DIR --key FILE [--phi FILE] [--as ID] [--payer ID] [--once]\n"
    "                     [--sequence N] [--batch-claims N] [--stable-ms MS]\n"
    "                     [--interval-ms MS] [--node ENDPOINT[,...]]\n";

static void s_help(void)
{
    printf("%s\nWatches DIR for claim files (X12 837, FHIR, canonical JSON) and submits\n"
           "each as signed batches of at most --batch-claims claims (default %d).\n"
           "Beside each file, moved to DIR/done/ (submitted) or DIR/failed/ (unreadable,\n"
           "no claim accepted, or refused by the node), it writes FILE.999 and FILE.277\n"
           "(X12 input), FILE.ack.json and FILE.answer (each claim's decision).\n\n"
           "A file is taken when its name does not start with \".\" nor end in .part or\n"
           ".tmp, and it has not changed for --stable-ms (default %d): write a file\n"
           "under such a name and rename it in when it is complete, or write it in\n"
           "place and let it rest.\n\n"
           "Crash safe: every signed batch is journaled in DIR/.intake/ before it is\n"
           "sent; a restarted intake sends the same bytes again, so no file is lost,\n"
           "half-submitted or applied twice.  Run one intake per signing key.\n\n"
           "  --as ID          the signer (default: --payer, else the key file's name)\n"
           "  --payer ID       the claims' payer (default: --as)\n"
           "  --phi FILE       the payer's PHI secret (settle keygen --phi FILE; default:\n"
           "                   the key file's name with .phi for .key): each claim's\n"
           "                   identifiers are sealed and its member id made a member key\n"
           "                   before it is signed; required\n"
           "  --once           process what is in DIR (and the journal), then exit\n"
           "  --sequence N     the first sequence number (default: ask the node)\n"
           "  --interval-ms MS look at DIR this often (default %d)\n"
           "%s\nexit codes: 0 every file done, 1 a file failed or a claim was rejected,\n"
           "2 bad usage, 3 failure (a file left for later, e.g. no node answered)\n",
           s_usage, BATCH_CLAIMS_DEFAULT, STABLE_MS_DEFAULT, INTERVAL_MS_DEFAULT,
           CLI_CLIENT_OPTIONS_HELP);
}

/* Reads the options into s; CLI_EXIT_OK or a usage exit (printed). */
static int s_options(s_intake_t *s, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--once") == 0) {
            s->once = 1;
            continue;
        }
        const char *value = i + 1 < argc ? argv[++i] : NULL;
        char *end = NULL;
        long long number = value ? strtoll(value, &end, 10) : -1;
        int numeric = value && end && !*end && number >= 0;
        if (!value)
            break;
        if (strcmp(name, "--watch") == 0)
            s->dir = value;
        else if (strcmp(name, "--key") == 0)
            s->key = value;
        else if (strcmp(name, "--as") == 0)
            s->signer = value;
        else if (strcmp(name, "--payer") == 0)
            s->payer = value;
        else if (strcmp(name, "--phi") == 0)
            s->phi_path = value;
        else if (strcmp(name, "--sequence") == 0 && numeric)
            s->sequence = number;
        else if (strcmp(name, "--batch-claims") == 0 && numeric && number >= 1 &&
                 number <= COMMAND_BATCH_CLAIMS_MAX)
            s->batch_claims = (unsigned)number;
        else if (strcmp(name, "--stable-ms") == 0 && numeric && number <= 86400000)
            s->stable_ms = (long)number;
        else if (strcmp(name, "--interval-ms") == 0 && numeric && number >= 10 && number <= 3600000)
            s->interval_ms = (long)number;
        else if (cli_client_option(&s->client, name, value) != 1) {
            fprintf(stderr, "settle intake: bad option or value: %s %s\n%s", name, value, s_usage);
            return CLI_EXIT_USAGE;
        }
    }
    cli_client_key(&s->client, s->key); /* also the transport's key */
    if (!s->dir || !s->key || cli_client_ready(&s->client) != 0) {
        fprintf(stderr, "settle intake: --watch DIR, --key FILE and a node are needed\n%s",
                s_usage);
        return CLI_EXIT_USAGE;
    }
    if (cli_phi_open(&s->phi, s->phi_path, s->key) != 0)
        return CLI_EXIT_USAGE;
    cli_phi_seal_for_providers(&s->phi, &s->client);
    if (!s->phi.have) {
        fprintf(stderr, "settle intake: no PHI secret: --phi FILE, or KEY.phi beside the key "
                        "(settle keygen --phi FILE makes one)\n");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int s_prepare(s_intake_t *s)
{
    const char *folders[] = {".intake", "done", "failed"};
    char path[PATH_SIZE];
    for (unsigned i = 0; i < 3; i++) {
        if (s_join(path, s->dir, folders[i]) != 0)
            return -1;
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "settle intake: %s: cannot make: %s\n", path, strerror(errno));
            return -1;
        }
    }
    return s_join(s->journal, s->dir, ".intake");
}

int cli_intake(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        s_help();
        return CLI_EXIT_OK;
    }
    s_intake_t s;
    memset(&s, 0, sizeof s);
    cli_client_init(&s.client);
    s.sequence = -1;
    s.batch_claims = BATCH_CLAIMS_DEFAULT;
    s.stable_ms = STABLE_MS_DEFAULT;
    s.interval_ms = INTERVAL_MS_DEFAULT;
    char from_key[COMMAND_PARTICIPANT_ID_SIZE];
    int rc = s_options(&s, argc, argv);
    if (rc == CLI_EXIT_OK && !s.signer && !s.payer &&
        cli_signer_from_key(s.key, from_key, sizeof from_key) == 0)
        s.signer = from_key;
    if (!s.signer)
        s.signer = s.payer;
    if (!s.payer)
        s.payer = s.signer;
    if (rc == CLI_EXIT_OK && !s.signer) {
        fprintf(stderr, "settle intake: --as ID is needed (the key file's name does not say)\n");
        rc = CLI_EXIT_USAGE;
    }
    if (rc == CLI_EXIT_OK && s_prepare(&s) != 0)
        rc = CLI_EXIT_FAILURE;
    if (rc != CLI_EXIT_OK) {
        cli_phi_free(&s.phi);
        cli_client_free(&s.client);
        return rc;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    int pass = 0;
    do {
        pass = s_pass(&s);
        cli_progress("settle intake: %s: %u done, %u failed; watching", s.dir, s.files_done,
                     s.files_failed);
        for (long slept = 0; !s.once && !s_stopping && slept < s.interval_ms; slept += 50)
            nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    } while (!s.once && !s_stopping);
    cli_progress_end();
    fprintf(stderr, "settle intake: %u file%s done, %u failed, %u claim%s rejected\n", s.files_done,
            s.files_done == 1 ? "" : "s", s.files_failed, s.claims_rejected,
            s.claims_rejected == 1 ? "" : "s");
    cli_phi_free(&s.phi);
    cli_client_free(&s.client);
    if (pass != 0 && !s.files_failed)
        return CLI_EXIT_FAILURE;
    return s.files_failed || s.claims_rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
}
