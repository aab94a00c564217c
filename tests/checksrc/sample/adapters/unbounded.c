/* Outside the deterministic code floating point is allowed, unbounded calls are not. */
static double fine;
void copy(char *to, const char *from) { strcpy(to, from); sprintf(to, "%s", from); }
int number(const char *s) { return atoi(s); }
