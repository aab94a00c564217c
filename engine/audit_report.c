/*
 * audit_report.c - `settle audit report`: totals, payments and activity
 * per day of a ledger, as Markdown or HTML (include/settle/audit_report.h).
 *
 * Every section is one ordered SQL query whose rows become a table; the
 * two formats differ only in how a table, a heading and the chart are
 * written (the s_emit_* functions).  Texts from the ledger are escaped for
 * the format (HTML entities, Markdown pipes).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_internal.h"
#include "settle/alloc.h"
#include "settle/audit_report.h"
#include "settle/date.h"
#include "settle/interp.h"
#include "settle/money.h"

#define REPORT_CELLS_MAX    8
#define REPORT_CELL_SIZE    160
#define REPORT_MS_PER_DAY   INT64_C(86400000)
#define REPORT_BAR_TEXT_MAX 50 /* characters of the longest text bar */
#define REPORT_CHART_HEIGHT 160

typedef struct {
    ledger_t *ledger;
    audit_report_format_t format;
    FILE *out;
    settle_error_t *error;
} report_t;

/* ------------------------------------------------------------------------
 * Writing in either format
 * ------------------------------------------------------------------------ */

static void s_text(report_t *r, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (r->format == AUDIT_REPORT_HTML && *c == '<')
            fputs("&lt;", r->out);
        else if (r->format == AUDIT_REPORT_HTML && *c == '>')
            fputs("&gt;", r->out);
        else if (r->format == AUDIT_REPORT_HTML && *c == '&')
            fputs("&amp;", r->out);
        else if (r->format == AUDIT_REPORT_HTML && *c == '"')
            fputs("&quot;", r->out);
        else if (r->format == AUDIT_REPORT_MARKDOWN && (*c == '|' || *c == '\\'))
            fprintf(r->out, "\\%c", *c);
        else
            fputc(*c, r->out);
    }
}

static void s_heading(report_t *r, const char *title)
{
    if (r->format == AUDIT_REPORT_HTML) {
        fputs("<h2>", r->out);
        s_text(r, title);
        fputs("</h2>\n", r->out);
    } else {
        fprintf(r->out, "\n## %s\n\n", title);
    }
}

/* A row of cells; header true for the table's head.  The first column is
 * text, the others numbers (right-aligned). */
static void s_row(report_t *r, char cells[][REPORT_CELL_SIZE], int count, bool header)
{
    if (r->format == AUDIT_REPORT_HTML) {
        fputs("<tr>", r->out);
        for (int i = 0; i < count; i++) {
            fprintf(r->out, "<%s%s>", header ? "th" : "td", i ? " class=\"n\"" : "");
            s_text(r, cells[i]);
            fprintf(r->out, "</%s>", header ? "th" : "td");
        }
        fputs("</tr>\n", r->out);
        return;
    }
    fputs("|", r->out);
    for (int i = 0; i < count; i++) {
        fputc(' ', r->out);
        s_text(r, cells[i]);
        fputs(" |", r->out);
    }
    fputc('\n', r->out);
    if (header) {
        fputs("|", r->out);
        for (int i = 0; i < count; i++)
            fputs(i ? " ---: |" : " --- |", r->out);
        fputc('\n', r->out);
    }
}

static void s_table_begin(report_t *r, const char *const *names, int count)
{
    char cells[REPORT_CELLS_MAX][REPORT_CELL_SIZE];
    for (int i = 0; i < count; i++)
        snprintf(cells[i], REPORT_CELL_SIZE, "%s", names[i]);
    if (r->format == AUDIT_REPORT_HTML)
        fputs("<table>\n", r->out);
    s_row(r, cells, count, true);
}

static void s_table_end(report_t *r, uint64_t rows)
{
    if (r->format == AUDIT_REPORT_HTML)
        fputs(rows ? "</table>\n" : "</table>\n<p>None.</p>\n", r->out);
    else if (!rows)
        fputs("\nNone.\n", r->out);
}

/* A column of the statement as a cell: text as is, an integer as a count
 * or (money true) as dollars. */
static void s_cell(sqlite3_stmt *s, int column, bool money, char cell[REPORT_CELL_SIZE])
{
    if (sqlite3_column_type(s, column) == SQLITE_TEXT)
        snprintf(cell, REPORT_CELL_SIZE, "%s", (const char *)sqlite3_column_text(s, column));
    else if (money &&
             money_format(sqlite3_column_int64(s, column), cell, REPORT_CELL_SIZE) == SETTLE_OK)
        return;
    else
        snprintf(cell, REPORT_CELL_SIZE, "%" PRId64, (int64_t)sqlite3_column_int64(s, column));
}

static void s_day(int64_t timestamp_ms, char out[DATE_TEXT_SIZE])
{
    int64_t day = timestamp_ms / REPORT_MS_PER_DAY;
    if (day < INT32_MIN + 1 || day > INT32_MAX ||
        date_format_iso((int32_t)day, out, DATE_TEXT_SIZE) != SETTLE_OK)
        snprintf(out, DATE_TEXT_SIZE, "?");
}

/* ------------------------------------------------------------------------
 * A table from a query
 * ------------------------------------------------------------------------ */

/*
 * Runs sql and writes its rows as a table under names.  money_mask says
 * which columns are cents (bit i for column i); day_column (or -1) is a
 * timestamp in ms written as its UTC day.
 */
static int s_query_table(report_t *r, const char *sql, const char *const *names, int count,
                         unsigned money_mask, int day_column)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->ledger->db, sql, -1, &s, NULL) != SQLITE_OK)
        return ledger_sqlite_error(r->ledger, "reading the ledger for the report", r->error);
    s_table_begin(r, names, count);
    char cells[REPORT_CELLS_MAX][REPORT_CELL_SIZE];
    uint64_t rows = 0;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        for (int i = 0; i < count; i++) {
            if (i == day_column)
                s_day(sqlite3_column_int64(s, i), cells[i]);
            else
                s_cell(s, i, money_mask >> i & 1, cells[i]);
        }
        s_row(r, cells, count, false);
        rows++;
    }
    s_table_end(r, rows);
    sqlite3_finalize(s);
    if (step != SQLITE_DONE)
        return ledger_sqlite_error(r->ledger, "reading the ledger for the report", r->error);
    return SETTLE_OK;
}

#define AMOUNT_COLUMNS                                                                             \
    "count(*), coalesce(sum(billed_cents), 0), coalesce(sum(allowed_cents), 0), "                  \
    "coalesce(sum(paid_cents), 0), coalesce(sum(patient_cents), 0)"

static const char *const s_amount_names[] = {"", "claims", "billed", "allowed", "paid", "patient"};

static int s_amounts(report_t *r, const char *title, const char *first_name, const char *sql)
{
    const char *names[6];
    memcpy(names, s_amount_names, sizeof names);
    names[0] = first_name;
    s_heading(r, title);
    return s_query_table(r, sql, names, 6, 0x3c, -1);
}

/* ------------------------------------------------------------------------
 * Reason codes, from the decisions
 * ------------------------------------------------------------------------ */

typedef struct {
    char code[INTERP_GROUP_SIZE + INTERP_REASON_SIZE + 1]; /* "CO-45" */
    uint64_t count;
    int64_t amount_cents;
} report_reason_t;

typedef struct {
    report_reason_t reasons[AUDIT_REPORT_REASONS_MAX + 1]; /* the last is "other" */
    size_t count;
} report_reasons_t;

static void s_reason_add(report_reasons_t *all, const interp_adjustment_t *a)
{
    char code[sizeof all->reasons[0].code];
    snprintf(code, sizeof code, "%s-%s", a->group, a->reason);
    size_t i = 0;
    while (i < all->count && strcmp(all->reasons[i].code, code) != 0)
        i++;
    if (i == all->count) {
        if (all->count == AUDIT_REPORT_REASONS_MAX) {
            i = AUDIT_REPORT_REASONS_MAX;
            snprintf(all->reasons[i].code, sizeof code, "other");
        } else {
            snprintf(all->reasons[i].code, sizeof code, "%s", code);
            all->count++;
        }
    }
    all->reasons[i].count++;
    all->reasons[i].amount_cents += a->amount_cents;
}

static int s_reason_order(const void *a, const void *b)
{
    return strcmp(((const report_reason_t *)a)->code, ((const report_reason_t *)b)->code);
}

/* Sums every adjustment of every stored decision by group and reason. */
static int s_reasons_gather(report_t *r, report_reasons_t *all, interp_decision_t *decision,
                            interp_changes_t *changes)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->ledger->db,
                           "SELECT payer, claim_id, decision FROM claims "
                           "WHERE length(decision) > 0 ORDER BY claim_row",
                           -1, &s, NULL) != SQLITE_OK)
        return ledger_sqlite_error(r->ledger, "reading the decisions", r->error);
    int rc = SETTLE_OK, step;
    while (rc == SETTLE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        rc = ledger_decision_decode(sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2),
                                    decision, changes, r->error);
        if (rc != SETTLE_OK) {
            settle_error_set(r->error, SETTLE_ERR_CORRUPT, "claim %s/%s: its decision: %s",
                             (const char *)sqlite3_column_text(s, 0),
                             (const char *)sqlite3_column_text(s, 1), r->error->message);
            rc = SETTLE_ERR_CORRUPT;
            break;
        }
        for (uint32_t l = 0; l < decision->line_count; l++)
            for (uint32_t a = 0; a < decision->lines[l].adjustment_count; a++)
                s_reason_add(all, &decision->lines[l].adjustments[a]);
    }
    if (rc == SETTLE_OK && step != SQLITE_DONE)
        rc = ledger_sqlite_error(r->ledger, "reading the decisions", r->error);
    sqlite3_finalize(s);
    return rc;
}

static int s_reasons(report_t *r)
{
    report_reasons_t *all = settle_calloc(1, sizeof *all);
    interp_decision_t *decision = interp_decision_new();
    interp_changes_t *changes = settle_calloc(1, sizeof *changes);
    int rc = all && decision && changes
                 ? s_reasons_gather(r, all, decision, changes)
                 : settle_error_set(r->error, SETTLE_ERR_NOMEM, "report: out of memory");
    if (rc == SETTLE_OK) {
        qsort(all->reasons, all->count, sizeof all->reasons[0], s_reason_order);
        if (all->reasons[AUDIT_REPORT_REASONS_MAX].count)
            all->reasons[all->count++] = all->reasons[AUDIT_REPORT_REASONS_MAX];
        static const char *const names[] = {"reason (group-CARC)", "adjustments", "amount"};
        s_heading(r, "By reason code");
        s_table_begin(r, names, 3);
        char cells[REPORT_CELLS_MAX][REPORT_CELL_SIZE];
        for (size_t i = 0; i < all->count; i++) {
            snprintf(cells[0], REPORT_CELL_SIZE, "%s", all->reasons[i].code);
            snprintf(cells[1], REPORT_CELL_SIZE, "%" PRIu64, all->reasons[i].count);
            money_format(all->reasons[i].amount_cents, cells[2], REPORT_CELL_SIZE);
            s_row(r, cells, 3, false);
        }
        s_table_end(r, all->count);
    }
    settle_free(changes);
    interp_decision_destroy(&decision);
    settle_free(all);
    return rc;
}

/* ------------------------------------------------------------------------
 * Activity per day, and its chart
 * ------------------------------------------------------------------------ */

typedef struct {
    int64_t day; /* days since 1970-01-01 (UTC) */
    uint64_t claims;
    uint64_t payments;
    int64_t billed_cents;
    int64_t paid_cents; /* paid out in payments */
} report_day_t;

typedef struct {
    report_day_t days[AUDIT_REPORT_DAYS_MAX];
    size_t count;
    uint64_t largest; /* the largest count of a day, claims or payments */
} report_days_t;

/* One query gives both series, day by day; a ledger spanning more days
 * than the chart holds keeps its last ones. */
static int s_days_gather(report_t *r, report_days_t *days)
{
    static const char sql[] =
        "SELECT day, sum(claims), sum(payments), sum(billed), sum(paid) FROM ("
        " SELECT c.timestamp_ms / 86400000 AS day, 1 AS claims, 0 AS payments,"
        "  k.billed_cents AS billed, 0 AS paid FROM claims k JOIN chain c USING (entry_index)"
        " UNION ALL"
        " SELECT c.timestamp_ms / 86400000, 0, 1, 0, p.total_cents"
        "  FROM payments p JOIN chain c USING (entry_index))"
        " GROUP BY day ORDER BY day DESC LIMIT 366";
    _Static_assert(AUDIT_REPORT_DAYS_MAX == 366, "the query's LIMIT is the chart's size");
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->ledger->db, sql, -1, &s, NULL) != SQLITE_OK)
        return ledger_sqlite_error(r->ledger, "reading the activity per day", r->error);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && days->count < AUDIT_REPORT_DAYS_MAX) {
        report_day_t *d = &days->days[days->count++];
        d->day = sqlite3_column_int64(s, 0);
        d->claims = (uint64_t)sqlite3_column_int64(s, 1);
        d->payments = (uint64_t)sqlite3_column_int64(s, 2);
        d->billed_cents = sqlite3_column_int64(s, 3);
        d->paid_cents = sqlite3_column_int64(s, 4);
        if (d->claims > days->largest)
            days->largest = d->claims;
        if (d->payments > days->largest)
            days->largest = d->payments;
    }
    sqlite3_finalize(s);
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        return ledger_sqlite_error(r->ledger, "reading the activity per day", r->error);
    /* Oldest first. */
    for (size_t i = 0; i < days->count / 2; i++) {
        report_day_t t = days->days[i];
        days->days[i] = days->days[days->count - 1 - i];
        days->days[days->count - 1 - i] = t;
    }
    return SETTLE_OK;
}

/* A bar's length in units of full for count out of largest (0 < largest). */
static uint64_t s_scale(uint64_t count, uint64_t largest, uint64_t full)
{
    uint64_t length = largest ? (count * full + largest / 2) / largest : 0;
    return count && length == 0 ? 1 : length;
}

static void s_chart_text(report_t *r, const report_days_t *days)
{
    fputs("```\n", r->out);
    for (size_t i = 0; i < days->count; i++) {
        const report_day_t *d = &days->days[i];
        char day[DATE_TEXT_SIZE];
        s_day(d->day * REPORT_MS_PER_DAY, day);
        uint64_t a = s_scale(d->claims, days->largest, REPORT_BAR_TEXT_MAX);
        uint64_t b = s_scale(d->payments, days->largest, REPORT_BAR_TEXT_MAX);
        fprintf(r->out, "%-10s claims   ", day);
        for (uint64_t k = 0; k < a; k++)
            fputc('#', r->out);
        fprintf(r->out, " %" PRIu64 "\n%-10s payments ", d->claims, "");
        for (uint64_t k = 0; k < b; k++)
            fputc('=', r->out);
        fprintf(r->out, " %" PRIu64 "\n", d->payments);
    }
    fputs("```\n", r->out);
}

/* An SVG of two bars a day (claims, payments), each labeled with its
 * count and the day under them; sized by the data, no external asset. */
static void s_chart_svg(report_t *r, const report_days_t *days)
{
    const int group = 64, bar = 24, top = 20, bottom = 40, left = 10;
    int width = left * 2 + group * (int)(days->count ? days->count : 1);
    int height = top + REPORT_CHART_HEIGHT + bottom;
    fprintf(r->out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"claims and payments per day\" "
            "font-family=\"sans-serif\" font-size=\"10\">\n",
            width, height + 16, width, height + 16);
    for (size_t i = 0; i < days->count; i++) {
        const report_day_t *d = &days->days[i];
        int x = left + group * (int)i + 6;
        uint64_t values[2] = {d->claims, d->payments};
        static const char *const colors[2] = {"#4a78b5", "#d08a2e"};
        for (int k = 0; k < 2; k++) {
            int h = (int)s_scale(values[k], days->largest, REPORT_CHART_HEIGHT);
            int bx = x + k * (bar + 2), by = top + REPORT_CHART_HEIGHT - h;
            fprintf(r->out,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
                    "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%" PRIu64 "</text>\n",
                    bx, by, bar, h, colors[k], bx + bar / 2, by - 3, values[k]);
        }
        char day[DATE_TEXT_SIZE];
        s_day(d->day * REPORT_MS_PER_DAY, day);
        fprintf(r->out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x + bar,
                top + REPORT_CHART_HEIGHT + 14, day);
    }
    fprintf(r->out,
            "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"#4a78b5\"/>"
            "<text x=\"%d\" y=\"%d\">claims</text>"
            "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"#d08a2e\"/>"
            "<text x=\"%d\" y=\"%d\">payments</text>\n</svg>\n",
            left, height, left + 14, height + 9, left + 70, height, left + 84, height + 9);
}

static int s_days(report_t *r)
{
    report_days_t *days = settle_calloc(1, sizeof *days);
    if (!days)
        return settle_error_set(r->error, SETTLE_ERR_NOMEM, "report: out of memory");
    int rc = s_days_gather(r, days);
    if (rc == SETTLE_OK) {
        s_heading(r, "Claims and payments per day");
        if (r->format == AUDIT_REPORT_HTML)
            s_chart_svg(r, days);
        else
            s_chart_text(r, days);
        static const char *const names[] = {"day (UTC)", "claims", "billed", "payments", "paid"};
        s_table_begin(r, names, 5);
        char cells[REPORT_CELLS_MAX][REPORT_CELL_SIZE];
        for (size_t i = 0; i < days->count; i++) {
            const report_day_t *d = &days->days[i];
            s_day(d->day * REPORT_MS_PER_DAY, cells[0]);
            snprintf(cells[1], REPORT_CELL_SIZE, "%" PRIu64, d->claims);
            money_format(d->billed_cents, cells[2], REPORT_CELL_SIZE);
            snprintf(cells[3], REPORT_CELL_SIZE, "%" PRIu64, d->payments);
            money_format(d->paid_cents, cells[4], REPORT_CELL_SIZE);
            s_row(r, cells, 5, false);
        }
        s_table_end(r, days->count);
    }
    settle_free(days);
    return rc;
}

/* ------------------------------------------------------------------------
 * The report
 * ------------------------------------------------------------------------ */

static void s_begin(report_t *r, uint64_t head_index, const uint8_t hash[LEDGER_HASH_SIZE])
{
    char hex[2 * LEDGER_HASH_SIZE + 1];
    for (int i = 0; i < LEDGER_HASH_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    if (r->format == AUDIT_REPORT_HTML)
        fprintf(r->out,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<title>Settlement audit report</title>\n<style>\n"
                "body{font-family:sans-serif;margin:2em;max-width:60em}\n"
                "table{border-collapse:collapse;margin-bottom:1em}\n"
                "th,td{border:1px solid #bbb;padding:2px 8px}\n"
                "th{background:#eee}.n{text-align:right}\ncode{font-size:90%%}\n"
                "</style>\n</head>\n<body>\n<h1>Settlement audit report</h1>\n"
                "<p>Ledger head: entry %" PRIu64 ", hash <code>%s</code>.</p>\n",
                head_index, hex);
    else
        fprintf(r->out, "# Settlement audit report\n\nLedger head: entry %" PRIu64 ", hash `%s`.\n",
                head_index, hex);
}

static int s_sections(report_t *r)
{
    static const char *const status_names[] = {"status",  "claims", "billed",
                                               "allowed", "paid",   "patient"};
    s_heading(r, "Claims by status");
    int rc = s_query_table(r,
                           "SELECT * FROM (SELECT CASE status WHEN 0 THEN 'paid' "
                           "WHEN 1 THEN 'partial' WHEN 2 THEN 'denied' WHEN 3 THEN 'rejected' "
                           "ELSE 'other' END, " AMOUNT_COLUMNS ", status AS o FROM claims "
                           "GROUP BY status UNION ALL SELECT 'all', " AMOUNT_COLUMNS
                           ", 99 FROM claims) ORDER BY o",
                           status_names, 6, 0x3c, -1);
    if (rc == SETTLE_OK)
        rc =
            s_amounts(r, "By payer", "payer",
                      "SELECT payer, " AMOUNT_COLUMNS " FROM claims GROUP BY payer ORDER BY payer");
    if (rc == SETTLE_OK)
        rc = s_amounts(r, "By provider (billing NPI)", "provider",
                       "SELECT billing_npi || coalesce(' ' || (SELECT name FROM participants p "
                       "WHERE p.npi = k.billing_npi ORDER BY id LIMIT 1), ''), " AMOUNT_COLUMNS
                       " FROM claims k GROUP BY billing_npi ORDER BY billing_npi");
    if (rc == SETTLE_OK)
        rc = s_reasons(r);
    if (rc == SETTLE_OK) {
        static const char *const names[] = {"trace number", "payer", "provider NPI", "claims",
                                            "amount",       "entry", "day (UTC)"};
        s_heading(r, "Payments");
        rc = s_query_table(r,
                           "SELECT p.payment_id, p.payer, p.npi, p.claim_count, p.total_cents, "
                           "p.entry_index, c.timestamp_ms FROM payments p "
                           "JOIN chain c USING (entry_index) ORDER BY p.entry_index, p.payment_id",
                           names, 7, 1u << 4, 6);
    }
    if (rc == SETTLE_OK)
        rc = s_days(r);
    return rc;
}

int audit_report_write(ledger_t *ledger, audit_report_format_t format, FILE *out,
                       settle_error_t *error)
{
    report_t r = {.ledger = ledger, .format = format, .out = out, .error = error};
    uint64_t head_index = 0;
    uint8_t hash[LEDGER_HASH_SIZE] = {0};
    /* One read transaction: every section sees the same ledger. */
    if (sqlite3_exec(ledger->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return ledger_sqlite_error(ledger, "starting a read transaction", error);
    int rc = ledger_head(ledger, &head_index, hash) == SETTLE_OK
                 ? SETTLE_OK
                 : ledger_sqlite_error(ledger, "reading the head", error);
    if (rc == SETTLE_OK) {
        s_begin(&r, head_index, hash);
        rc = s_sections(&r);
    }
    if (rc == SETTLE_OK && format == AUDIT_REPORT_HTML)
        fputs("</body>\n</html>\n", out);
    sqlite3_exec(ledger->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SETTLE_OK && (fflush(out) != 0 || ferror(out)))
        rc = settle_error_set(error, SETTLE_ERR_IO, "cannot write the report");
    return rc;
}
