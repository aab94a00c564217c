/*
 * audit_claim.c - `settle audit claim`: a claim's whole history from the
 * ledger, each step with the chain link that proves it (audit.h).
 *
 * The history is gathered into a JSON object (jansson), then printed as
 * one line of JSON or as text.  Everything comes from the ledger file:
 * the claims row, the chain entry that carried the claim (decoded again,
 * so the signer, the batch and the Merkle path are the signed bytes'),
 * the decision blob, the void, the payment.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ledger_internal.h"
#include "settle/alloc.h"
#include "settle/audit.h"
#include "settle/hash.h"
#include "settle/ledger_query.h"
#include "settle/merkle.h"

static void s_hex(const uint8_t *bytes, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * size] = '\0';
}

static json_t *s_hex_json(const uint8_t *bytes, size_t size)
{
    char hex[2 * 64 + 1];
    s_hex(bytes, size < 64 ? size : 64, hex);
    return json_string(hex);
}

/* {"index": N, "timestamp_ms": T, "hash": HEX} of the link at index, or
 * NULL when the chain has no such link. */
static json_t *s_link(ledger_t *ledger, uint64_t index)
{
    sqlite3_stmt *s = NULL;
    json_t *link = NULL;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT timestamp_ms, hash FROM chain WHERE entry_index = ?1", -1, &s,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, (int64_t)index);
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 1) == LEDGER_HASH_SIZE)
            link = json_pack("{s:I, s:I, s:o}", "index", (json_int_t)index, "timestamp_ms",
                             (json_int_t)sqlite3_column_int64(s, 0), "hash",
                             s_hex_json(sqlite3_column_blob(s, 1), LEDGER_HASH_SIZE));
    }
    sqlite3_finalize(s);
    return link ? link : json_pack("{s:I, s:n}", "index", (json_int_t)index, "hash");
}

/* The batch command of the entry that holds the claim, by content hash:
 * signer, sequence, command position, the claim's place in the batch and
 * its Merkle path to the root the signature covers. */
static int s_batch_place(const command_t *command, uint32_t position,
                         const uint8_t content_hash[LEDGER_HASH_SIZE], json_t *submitted)
{
    command_batch_t batch;
    settle_error_t ignored;
    if (command_batch_decode(command->payload, command->payload_size, &batch, &ignored) !=
        SETTLE_OK)
        return SETTLE_ERR_NOT_FOUND;
    uint8_t(*leaves)[MERKLE_HASH_SIZE] = settle_malloc((batch.count + 1) * sizeof *leaves);
    if (!leaves)
        return SETTLE_ERR_NOMEM;
    size_t cursor = 0, count = 0, size, found = SIZE_MAX;
    const uint8_t *bytes;
    while (count < batch.count && command_batch_next(&batch, &cursor, &bytes, &size)) {
        /* the leaves are the claims' content hashes (command.h) */
        if (hash_sha256(bytes, size, leaves[count]) == SETTLE_OK &&
            memcmp(leaves[count], content_hash, HASH_SHA256_SIZE) == 0 && found == SIZE_MAX)
            found = count;
        count++;
    }
    int rc = SETTLE_ERR_NOT_FOUND;
    uint8_t path[MERKLE_PATH_MAX][MERKLE_HASH_SIZE], root[MERKLE_HASH_SIZE];
    size_t length = 0;
    if (found != SIZE_MAX &&
        merkle_path((const uint8_t(*)[MERKLE_HASH_SIZE])leaves, count, found, path, &length) ==
            SETTLE_OK &&
        merkle_root((const uint8_t(*)[MERKLE_HASH_SIZE])leaves, count, root) == SETTLE_OK) {
        json_t *hashes = json_array();
        for (size_t i = 0; i < length; i++)
            json_array_append_new(hashes, s_hex_json(path[i], MERKLE_HASH_SIZE));
        bool verifies = merkle_verify(leaves[found], found, count,
                                      (const uint8_t(*)[MERKLE_HASH_SIZE])path, length, root);
        json_t *place = json_pack(
            "{s:s, s:I, s:i, s:i, s:i, s:o, s:o, s:o, s:b}", "signer", command->participant,
            "sequence", (json_int_t)command->sequence, "command_position", (int)position,
            "batch_position", (int)found, "batch_count", (int)count, "leaf",
            s_hex_json(leaves[found], MERKLE_HASH_SIZE), "merkle_root",
            s_hex_json(root, MERKLE_HASH_SIZE), "merkle_path", hashes, "path_verifies", verifies);
        rc = place && json_object_update(submitted, place) == 0 ? SETTLE_OK : SETTLE_ERR_NOMEM;
        json_decref(place);
    }
    settle_free(leaves);
    return rc;
}

/* The submitted step: the link of the entry that carried the claim and
 * the batch command in it. */
static json_t *s_submitted(ledger_t *ledger, const ledger_claim_t *row, settle_error_t *error)
{
    json_t *step = json_pack("{s:o}", "link", s_link(ledger, row->entry_index));
    uint8_t *bytes = NULL;
    size_t size = 0;
    uint64_t timestamp_ms;
    command_entry_t entry = {0};
    settle_error_t problem;
    int rc = ledger_chain_entry(ledger, row->entry_index, &timestamp_ms, &bytes, &size, error);
    if (rc == SETTLE_OK && command_entry_decode(bytes, command_entry_unpadded_size(bytes, size),
                                                &entry, NULL, 0, &problem) != SETTLE_OK)
        rc = SETTLE_ERR_CORRUPT;
    int found = SETTLE_ERR_NOT_FOUND;
    for (uint32_t i = 0; rc == SETTLE_OK && found == SETTLE_ERR_NOT_FOUND && i < entry.count; i++)
        if (entry.commands[i].type == COMMAND_BATCH)
            found = s_batch_place(&entry.commands[i], i, row->content_hash, step);
    if (found != SETTLE_OK)
        json_object_set_new(step, "problem",
                            json_string("the entry holds no batch with this claim's content"));
    command_entry_free(&entry);
    settle_free(bytes);
    return step;
}

typedef struct {
    const uint8_t *hash;
    json_t *found;
} s_contract_find_t;

static int s_contract_match(const ledger_contract_t *row, void *context)
{
    s_contract_find_t *find = context;
    if (memcmp(row->hash, find->hash, LEDGER_HASH_SIZE) != 0)
        return 0;
    find->found = json_pack("{s:s, s:s, s:o}", "contract_id", row->contract_id, "version",
                            row->version, "hash", s_hex_json(row->hash, LEDGER_HASH_SIZE));
    return 1; /* the hash is unique: stop */
}

/* The contract that decided the claim, as its row records it
 * (claims.contract_hash), looked up in the contracts table; null when no
 * contract decided it (the hash is zeros).  A hash the contracts table
 * does not hold (it cannot, in a sound ledger) is shown as such. */
static json_t *s_contract(ledger_t *ledger, const ledger_claim_t *row)
{
    static const uint8_t zeros[LEDGER_HASH_SIZE];
    if (memcmp(row->contract_hash, zeros, LEDGER_HASH_SIZE) == 0)
        return json_null();
    settle_error_t ignored;
    s_contract_find_t find = {.hash = row->contract_hash};
    ledger_contract_each(ledger, s_contract_match, &find, &ignored);
    if (find.found)
        return find.found;
    return json_pack("{s:s, s:s, s:o}", "contract_id", "?", "version", "?", "hash",
                     s_hex_json(row->contract_hash, LEDGER_HASH_SIZE));
}

/* The adjudicated step: totals, lines with their adjustments, changes. */
static json_t *s_adjudicated(ledger_t *ledger, const ledger_claim_t *row)
{
    json_t *step =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "status", interp_status_name(row->status),
                  "billed_cents", (json_int_t)row->billed_cents, "allowed_cents",
                  (json_int_t)row->allowed_cents, "paid_cents", (json_int_t)row->paid_cents,
                  "patient_cents", (json_int_t)row->patient_cents, "net_cents",
                  (json_int_t)row->net_cents, "link", s_link(ledger, row->entry_index));
    if (row->reason[0])
        json_object_set_new(step, "reason", json_string(row->reason));
    interp_decision_t *decision = interp_decision_new();
    interp_changes_t *changes = settle_malloc(sizeof *changes);
    settle_error_t ignored;
    if (decision && changes &&
        ledger_claim_decision(ledger, row->payer, row->claim_id, decision, changes, &ignored) ==
            SETTLE_OK) {
        json_t *lines = json_array();
        for (uint32_t i = 0; i < decision->line_count; i++) {
            const interp_line_t *l = &decision->lines[i];
            json_t *adjustments = json_array();
            for (uint32_t a = 0; a < l->adjustment_count; a++)
                json_array_append_new(adjustments,
                                      json_pack("{s:s, s:s, s:I}", "group", l->adjustments[a].group,
                                                "reason", l->adjustments[a].reason, "amount_cents",
                                                (json_int_t)l->adjustments[a].amount_cents));
            json_array_append_new(
                lines, json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:o}", "line", (int)l->line,
                                 "code", l->code, "billed_cents", (json_int_t)l->billed_cents,
                                 "allowed_cents", (json_int_t)l->allowed_cents, "paid_cents",
                                 (json_int_t)l->paid_cents, "patient_cents",
                                 (json_int_t)l->patient_cents, "adjustments", adjustments));
        }
        json_object_set_new(step, "lines", lines);
        json_object_set_new(step, "accumulator_changes", json_integer(changes->count));
        json_object_set_new(step, "contract", s_contract(ledger, row));
    }
    settle_free(changes);
    interp_decision_destroy(&decision);
    return step;
}

/* The voided step (another claim voided or replaced this one), the
 * corrects field (this one voids or replaces another) and the paid step. */
static void s_later(ledger_t *ledger, const ledger_claim_t *row, json_t *history)
{
    if (row->related_claim_id[0])
        json_object_set_new(history, "corrects",
                            json_pack("{s:s, s:s}", "claim_id", row->related_claim_id, "as",
                                      row->frequency == 8 ? "void" : "replacement"));
    ledger_claim_t by;
    if (row->voided_by[0] && ledger_claim_get(ledger, row->payer, row->voided_by, &by) == SETTLE_OK)
        json_object_set_new(history, "voided",
                            json_pack("{s:s, s:s, s:o}", "by", row->voided_by, "as",
                                      by.frequency == 8 ? "void" : "replacement", "link",
                                      s_link(ledger, by.entry_index)));
    ledger_payment_t payment;
    settle_error_t ignored;
    if (row->payment_id[0] &&
        ledger_payment_get(ledger, row->payment_id, &payment, &ignored) == SETTLE_OK)
        json_object_set_new(
            history, "paid",
            json_pack("{s:s, s:s, s:I, s:i, s:o}", "payment_id", row->payment_id, "npi",
                      payment.npi, "total_cents", (json_int_t)payment.total_cents, "claim_count",
                      (int)payment.claim_count, "link", s_link(ledger, payment.entry_index)));
    json_object_set_new(history, "settlement", json_string(row->settlement));
}

/* ------------------------------------------------------------------------
 * Printing
 * ------------------------------------------------------------------------ */

static void s_print_link(FILE *out, json_t *link)
{
    fprintf(out, "  [entry %" JSON_INTEGER_FORMAT " hash %s]\n",
            json_integer_value(json_object_get(link, "index")),
            json_string_value(json_object_get(link, "hash")) ?: "-");
}

static void s_print_text(FILE *out, json_t *h)
{
    json_t *sub = json_object_get(h, "submitted"), *adj = json_object_get(h, "adjudicated");
    fprintf(out, "claim %s of payer %s (provider %s)\n",
            json_string_value(json_object_get(h, "claim_id")),
            json_string_value(json_object_get(h, "payer")),
            json_string_value(json_object_get(h, "billing_npi")));
    json_t *link = json_object_get(sub, "link");
    fprintf(out,
            "submitted by %s, sequence %" JSON_INTEGER_FORMAT ", at %" JSON_INTEGER_FORMAT
            " ms, command %" JSON_INTEGER_FORMAT " of the entry, claim %" JSON_INTEGER_FORMAT
            " of %" JSON_INTEGER_FORMAT " in the batch\n",
            json_string_value(json_object_get(sub, "signer")) ?: "?",
            json_integer_value(json_object_get(sub, "sequence")),
            json_integer_value(json_object_get(link, "timestamp_ms")),
            json_integer_value(json_object_get(sub, "command_position")),
            json_integer_value(json_object_get(sub, "batch_position")),
            json_integer_value(json_object_get(sub, "batch_count")));
    fprintf(out, "  content hash %s\n  merkle root %s (%s)\n",
            json_string_value(json_object_get(h, "content_hash")),
            json_string_value(json_object_get(sub, "merkle_root")) ?: "-",
            json_is_true(json_object_get(sub, "path_verifies")) ? "path verifies"
                                                                : "PATH DOES NOT VERIFY");
    size_t i;
    json_t *value;
    json_array_foreach(json_object_get(sub, "merkle_path"), i, value)
        fprintf(out, "  path %zu %s\n", i, json_string_value(value));
    s_print_link(out, link);
    fprintf(out,
            "adjudicated %s: billed %" JSON_INTEGER_FORMAT " paid %" JSON_INTEGER_FORMAT
            " patient %" JSON_INTEGER_FORMAT " net %" JSON_INTEGER_FORMAT " (cents)%s%s\n",
            json_string_value(json_object_get(adj, "status")),
            json_integer_value(json_object_get(adj, "billed_cents")),
            json_integer_value(json_object_get(adj, "paid_cents")),
            json_integer_value(json_object_get(adj, "patient_cents")),
            json_integer_value(json_object_get(adj, "net_cents")),
            json_object_get(adj, "reason") ? ": " : "",
            json_string_value(json_object_get(adj, "reason")) ?: "");
    json_t *contract = json_object_get(adj, "contract");
    if (json_is_object(contract))
        fprintf(out, "  contract %s version %s (%s)\n",
                json_string_value(json_object_get(contract, "contract_id")),
                json_string_value(json_object_get(contract, "version")),
                json_string_value(json_object_get(contract, "hash")));
    json_array_foreach(json_object_get(adj, "lines"), i, value)
    {
        fprintf(out,
                "  line %" JSON_INTEGER_FORMAT " %s: billed %" JSON_INTEGER_FORMAT
                " allowed %" JSON_INTEGER_FORMAT " paid %" JSON_INTEGER_FORMAT,
                json_integer_value(json_object_get(value, "line")),
                json_string_value(json_object_get(value, "code")),
                json_integer_value(json_object_get(value, "billed_cents")),
                json_integer_value(json_object_get(value, "allowed_cents")),
                json_integer_value(json_object_get(value, "paid_cents")));
        size_t a;
        json_t *adjustment;
        json_array_foreach(json_object_get(value, "adjustments"), a, adjustment)
            fprintf(out, " %s-%s %" JSON_INTEGER_FORMAT,
                    json_string_value(json_object_get(adjustment, "group")),
                    json_string_value(json_object_get(adjustment, "reason")),
                    json_integer_value(json_object_get(adjustment, "amount_cents")));
        fputc('\n', out);
    }
    s_print_link(out, json_object_get(adj, "link"));
    json_t *corrects = json_object_get(h, "corrects"), *voided = json_object_get(h, "voided");
    if (corrects)
        fprintf(out, "corrects claim %s (a %s)\n",
                json_string_value(json_object_get(corrects, "claim_id")),
                json_string_value(json_object_get(corrects, "as")));
    if (voided) {
        fprintf(out, "voided by claim %s (a %s)\n",
                json_string_value(json_object_get(voided, "by")),
                json_string_value(json_object_get(voided, "as")));
        s_print_link(out, json_object_get(voided, "link"));
    }
    json_t *paid = json_object_get(h, "paid");
    if (paid) {
        fprintf(out,
                "paid in payment %s to %s (total %" JSON_INTEGER_FORMAT
                " cents, %" JSON_INTEGER_FORMAT " claims)\n",
                json_string_value(json_object_get(paid, "payment_id")),
                json_string_value(json_object_get(paid, "npi")),
                json_integer_value(json_object_get(paid, "total_cents")),
                json_integer_value(json_object_get(paid, "claim_count")));
        s_print_link(out, json_object_get(paid, "link"));
    } else {
        fprintf(out, "settlement: %s\n", json_string_value(json_object_get(h, "settlement")));
    }
}

typedef struct {
    ledger_t *ledger;
    audit_format_t format;
    FILE *out;
    settle_error_t *error;
} s_print_t;

static int s_print_claim(const ledger_claim_t *row, void *context)
{
    s_print_t *print = context;
    char hash[2 * LEDGER_HASH_SIZE + 1];
    s_hex(row->content_hash, LEDGER_HASH_SIZE, hash);
    json_t *history = json_pack("{s:s, s:s, s:s, s:s}", "claim_id", row->claim_id, "payer",
                                row->payer, "billing_npi", row->billing_npi, "content_hash", hash);
    if (!history)
        return settle_error_set(print->error, SETTLE_ERR_NOMEM, "audit: out of memory");
    json_object_set_new(history, "submitted", s_submitted(print->ledger, row, print->error));
    json_object_set_new(history, "adjudicated", s_adjudicated(print->ledger, row));
    s_later(print->ledger, row, history);
    if (print->format == AUDIT_FORMAT_JSON) {
        char *text = json_dumps(history, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text)
            fprintf(print->out, "%s\n", text);
        free(text);
    } else {
        s_print_text(print->out, history);
    }
    json_decref(history);
    return SETTLE_OK;
}

int audit_claim_print(ledger_t *ledger, const char *claim_id, const char *payer,
                      audit_format_t format, FILE *out, settle_error_t *error)
{
    s_print_t print = {.ledger = ledger, .format = format, .out = out, .error = error};
    return ledger_claim_each_with_id(ledger, claim_id, payer, s_print_claim, &print, error);
}
