/* Deterministic by name (ledger*), so float is a finding; double here is not code. */
static float rate;
static const char *not_code = "double time(";
