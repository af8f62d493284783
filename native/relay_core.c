/*
 * The native twin of src/sources/records/relay.ts's scan (see relay_core.h and
 * relay.ts for what a line must be to be relayed). Every rule here is relay.ts's,
 * in the same order; a line either twin is unsure of is left to JS, and
 * relay.test.ts holds the two to the same answers over generated lines.
 *
 * Reads: every read of b is at an index below the line's end e (checked before
 * it), except reads at exactly e where noted, which are guarded by e < n. Writes:
 * only out[i * RL_SLOTS .. +RL_SLOTS) and times[i] for i < maxLines.
 */
#include "relay_core.h"

#include <assert.h>
#include <string.h>

#define FP_CORE_TABLES 1
#include "fastparse_core.h"

typedef struct {
  const uint8_t *b;
  size_t e;
  /* a number this code cannot decide was seen: the line goes to JS's scan */
  int unsure;
  /* where each open object's keys start and end, by depth, for the duplicate check */
  int32_t keys[RL_MAX_DEPTH + 1][2 * RL_MAX_KEYS];
} Scan;

static int isDigit(uint8_t c) { return c >= '0' && c <= '9'; }

static int lit(const Scan *s, size_t p, const char *t, size_t n) { return p + n <= s->e && memcmp(s->b + p, t, n) == 0; }

#define LIT(s, p, t) lit((s), (p), (t), sizeof(t) - 1)

static int hexLower(uint8_t c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

/* after the JSON string at p (its opening quote), or 0 when it is not one JSON.stringify writes */
static size_t str(const Scan *s, size_t p) {
  const uint8_t *b = s->b;
  size_t e = s->e;
  if (p >= e || b[p] != '"') return 0;
  p++;
  while (p < e) {
    uint8_t c = b[p];
    if (c == '"') return p + 1;
    if (c == '\\') {
      if (p + 1 >= e) return 0;
      uint8_t d = b[p + 1];
      if (d == '"' || d == '\\' || d == 'b' || d == 'f' || d == 'n' || d == 'r' || d == 't') {
        p += 2;
        continue;
      }
      if (d != 'u' || p + 6 > e || b[p + 2] != '0' || b[p + 3] != '0' || (b[p + 4] != '0' && b[p + 4] != '1')) return 0;
      int lo = hexLower(b[p + 5]);
      if (lo < 0) return 0;
      int v = (b[p + 4] - '0') * 16 + lo;
      if (v == 8 || v == 9 || v == 10 || v == 12 || v == 13) return 0;
      p += 6;
      continue;
    }
    if (c < 32) return 0;
    p++;
  }
  return 0;
}

/*
 * After the JSON number at p, or 0. A number JSON.stringify surely writes as it
 * reads (up to 15 significant digits, no exponent, no trailing zero in its
 * fraction, not -0, not below 1e-6: the rule fastparse_core.c's jNumber uses)
 * passes; any other one marks the line `unsure`, and JS decides it (relay.ts
 * compares the text with String(Number(text))).
 */
static size_t num(Scan *s, size_t p) {
  const uint8_t *b = s->b;
  size_t e = s->e;
  int neg = 0, intZero = 0, hasFrac = 0, expo = 0, trailingZero = 0;
  size_t intDigits = 0, fracDigits = 0, lead = 0;
  if (p < e && b[p] == '-') {
    neg = 1;
    p++;
  }
  if (p < e && b[p] == '0') {
    intZero = 1;
    p++;
  } else if (p < e && b[p] >= '1' && b[p] <= '9') {
    while (p < e && isDigit(b[p])) {
      p++;
      intDigits++;
    }
  } else {
    return 0;
  }
  if (p < e && b[p] == '.') {
    hasFrac = 1;
    p++;
    if (p >= e || !isDigit(b[p])) return 0;
    int seen = 0;
    while (p < e && isDigit(b[p])) {
      if (b[p] != '0') seen = 1;
      else if (!seen) lead++;
      trailingZero = b[p] == '0';
      p++;
      fracDigits++;
    }
  }
  if (p < e && (b[p] == 'e' || b[p] == 'E')) {
    expo = 1;
    p++;
    if (p < e && (b[p] == '+' || b[p] == '-')) p++;
    if (p >= e || !isDigit(b[p])) return 0;
    while (p < e && isDigit(b[p])) p++;
  }
  size_t sig = intZero ? fracDigits - lead : intDigits + fracDigits;
  if (expo || trailingZero || sig > 15 || (intZero && !hasFrac && neg) || (intZero && hasFrac && lead >= 6)) s->unsure = 1;
  return p;
}

static size_t obj(Scan *s, size_t p, int depth);

static size_t value(Scan *s, size_t p, int depth) {
  const uint8_t *b = s->b;
  size_t e = s->e;
  if (p >= e) return 0;
  uint8_t c = b[p];
  if (c == '"') return str(s, p);
  if (c == '{') return obj(s, p, depth + 1);
  if (c == '[') {
    if (depth + 1 > RL_MAX_DEPTH) return 0;
    p++;
    if (p < e && b[p] == ']') return p + 1;
    for (;;) {
      p = value(s, p, depth + 1);
      if (p == 0 || p >= e) return 0;
      if (b[p] == ']') return p + 1;
      if (b[p] != ',') return 0;
      p++;
    }
  }
  if (c == 't') return LIT(s, p, "true") ? p + 4 : 0;
  if (c == 'f') return LIT(s, p, "false") ? p + 5 : 0;
  if (c == 'n') return LIT(s, p, "null") ? p + 4 : 0;
  return num(s, p);
}

static int sameKey(const uint8_t *b, size_t ks, size_t ke, const char *t, size_t n) { return ke - ks == n && memcmp(b + ks, t, n) == 0; }

/* after the JSON object at p, or 0 (also for a key twice, a key of digits, `__proto__` or `constructor`) */
static size_t obj(Scan *s, size_t p, int depth) {
  const uint8_t *b = s->b;
  size_t e = s->e;
  if (depth > RL_MAX_DEPTH || p >= e || b[p] != '{') return 0;
  p++;
  if (p < e && b[p] == '}') return p + 1;
  int32_t *keys = s->keys[depth];
  int n = 0;
  for (;;) {
    size_t ks = p + 1;
    size_t q = str(s, p);
    if (q == 0 || n >= RL_MAX_KEYS) return 0;
    size_t ke = q - 1;
    int digits = ke > ks;
    for (size_t i = ks; i < ke && digits; i++) digits = isDigit(b[i]);
    if (digits || sameKey(b, ks, ke, "__proto__", 9) || sameKey(b, ks, ke, "constructor", 11)) return 0;
    for (int k = 0; k < n; k++) {
      size_t s2 = (size_t)keys[2 * k], e2 = (size_t)keys[2 * k + 1];
      if (e2 - s2 == ke - ks && memcmp(b + s2, b + ks, ke - ks) == 0) return 0;
    }
    keys[2 * n] = (int32_t)ks;
    keys[2 * n + 1] = (int32_t)ke;
    n++;
    if (q >= e || b[q] != ':') return 0;
    p = value(s, q + 1, depth);
    if (p == 0 || p >= e) return 0;
    if (b[p] == '}') return p + 1;
    if (b[p] != ',') return 0;
    p++;
  }
}

static int dd(const uint8_t *b, size_t p) {
  int h = b[p] - '0', l = b[p + 1] - '0';
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
}

/* epoch ms of `YYYY-MM-DDTHH:MM:SS.mmmZ` at b[p, p + 24) (relay.ts isoMs), or 0 with *ok = 0 */
static double isoMs(const uint8_t *b, size_t p, int *ok) {
  *ok = 0;
  if (b[p + 4] != '-' || b[p + 7] != '-' || b[p + 10] != 'T' || b[p + 13] != ':' || b[p + 16] != ':' || b[p + 19] != '.' || b[p + 23] != 'Z') return 0;
  int yh = dd(b, p), yl = dd(b, p + 2), mo = dd(b, p + 5), d = dd(b, p + 8);
  int h = dd(b, p + 11), mi = dd(b, p + 14), sec = dd(b, p + 17), m1 = dd(b, p + 20), m2 = b[p + 22] - '0';
  if (yh < 0 || yl < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || m1 < 0 || m2 < 0 || m2 > 9) return 0;
  int y = yh * 100 + yl;
  if (d > fp_days_in_month(y, mo)) return 0;
  *ok = 1;
  return (double)((fp_days_from_civil(y, mo, d) * 24 + h) * 3600000 + (int64_t)mi * 60000 + (int64_t)sec * 1000 + m1 * 10 + m2);
}

/* one line b[s, e): the slots from RL_SEQ_END on (RL_SEQ_END -1: not relayed) */
static void scanLine(Scan *sc, size_t s, int32_t *r, double *time) {
  const uint8_t *b = sc->b;
  size_t e = sc->e;
  r[RL_SEQ_END] = -1;
  sc->unsure = 0;
  if (!LIT(sc, s, "{\"seq\":")) return;
  size_t p = s + 7, d0 = p;
  if (p < e && b[p] == '0') p++;
  else
    while (p < e && isDigit(b[p])) p++;
  if (p == d0 || p - d0 > 15 || (p < e && isDigit(b[p]))) return;
  size_t seqEnd = p;
  if (!LIT(sc, p, ",\"time\":\"") || p + 9 + 25 > e) return;
  int ok;
  double t = isoMs(b, p + 9, &ok);
  if (!ok) return;
  size_t t1 = p + 9 + 24;
  if (!LIT(sc, t1, "\",\"source\":")) return;
  p = str(sc, t1 + 11);
  if (p == 0 || !LIT(sc, p, ",\"stream\":")) return;
  p = str(sc, p + 10);
  if (p == 0 || !LIT(sc, p, ",\"origin\":")) return;
  size_t o1 = obj(sc, p + 10, 1);
  if (o1 == 0) return;
  p = o1;
  if (LIT(sc, p, ",\"host\":") && (p = str(sc, p + 8)) == 0) return;
  if (LIT(sc, p, ",\"app\":") && (p = str(sc, p + 7)) == 0) return;
  int level = 0;
  /* `,"level":"<name>","message":` by level code (tables.h, from core/record.ts), else `,"message":` */
  for (int k = 1; k < FP_NLEVELS && level == 0; k++)
    if (lit(sc, p, LEVEL_MESSAGE[k], LEVEL_MESSAGE_LEN[k])) level = k;
  if (level == 0 && !lit(sc, p, LEVEL_MESSAGE[0], LEVEL_MESSAGE_LEN[0])) return;
  size_t m0 = p + LEVEL_MESSAGE_LEN[level];
  size_t m1 = str(sc, m0);
  if (m1 == 0 || !LIT(sc, m1, ",\"fields\":")) return;
  p = obj(sc, m1 + 10, 1);
  if (p == 0 || p + 1 != e || b[p] != '}') return;
  assert(seqEnd < t1 && t1 < o1 && o1 < m0 && m0 < m1 && m1 < e);
  if (sc->unsure) {
    r[RL_SEQ_END] = -2;
    return;
  }
  r[RL_SEQ_END] = (int32_t)seqEnd;
  r[RL_T1] = (int32_t)t1;
  r[RL_O1] = (int32_t)o1;
  r[RL_M0] = (int32_t)m0;
  r[RL_M1] = (int32_t)m1;
  r[RL_LEVEL] = level;
  *time = t;
}

size_t relay_scan_lines(const uint8_t *b, size_t n, size_t pos, int32_t *out, double *times, size_t maxLines) {
  Scan sc; /* ~17 KiB on the caller's stack (a thread-local one does not fit a dlopened module's static TLS) */
  if (n >= ((size_t)1 << 31) || pos > n) return 0;
  sc.b = b;
  sc.unsure = 0;
  size_t i = 0;
  while (pos < n && i < maxLines) {
    const uint8_t *nl = memchr(b + pos, '\n', n - pos);
    size_t e = nl != NULL ? (size_t)(nl - b) : n;
    int32_t *r = out + i * RL_SLOTS;
    r[RL_START] = (int32_t)pos;
    r[RL_END] = (int32_t)e;
    sc.e = e;
    scanLine(&sc, pos, r, &times[i]);
    i++;
    pos = e + 1;
  }
  return i;
}
