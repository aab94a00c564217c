/* A sample the checker must reject: every line below is a finding. */
double share(double x) { return x * 0.2; }
long now(void) { return time(0) + rand(); }
char *home(void) { return getenv("HOME"); }
