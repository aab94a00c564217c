/*
 * audit_report.h - the report an auditor hands on (issue 8): `settle audit
 * report --format md|html`, written from a ledger at rest.
 *
 * It holds: the ledger's head (index, hash) and the days its entries span;
 * claim counts by status and the totals billed, allowed, paid and patient
 * responsibility; the same by payer, by provider (billing NPI) and, from
 * the adjustments of every decision, by reason code (CARC group-reason,
 * "CO-45"); every payment with its trace number; and the claims and
 * payments per day of the entries' leader timestamps (UTC), as an inline
 * SVG bar chart in HTML (no script, no external asset) and as a text bar
 * chart in Markdown.
 *
 * Amounts are sums over every claim row as stored: a void's row carries
 * the negated amounts of the claim it voids, so totals are net.  The same
 * ledger gives the same bytes: every query is ordered and nothing reads
 * the clock.
 */
#ifndef SETTLE_AUDIT_REPORT_H
#define SETTLE_AUDIT_REPORT_H

#include <stdio.h>

#include "settle/error.h"
#include "settle/ledger.h"

typedef enum { AUDIT_REPORT_MARKDOWN, AUDIT_REPORT_HTML } audit_report_format_t;

/* Distinct reason codes reported one by one; the rest are summed as "other". */
#define AUDIT_REPORT_REASONS_MAX 256
/* Days charted one by one; a ledger spanning more charts its last ones. */
#define AUDIT_REPORT_DAYS_MAX 366

/*
 * Writes the report of ledger (the caller's, opened read-only or not) on
 * out.  SETTLE_ERR_IO when the ledger cannot be read or out written,
 * SETTLE_ERR_CORRUPT when a stored decision does not decode, with where.
 */
int audit_report_write(ledger_t *ledger, audit_report_format_t format, FILE *out,
                       settle_error_t *error);

#endif
