/*
 * The native writer's core: runs of complete lines in, finished wire records out,
 * for the lines it can render exactly as the TypeScript parsers and serializer do
 * (src/parse/, core/record.ts). Any line it is not sure of is handed back ("bail")
 * and the parse worker parses it in JS, so the JS code stays the definition and
 * this is only a faster way to the same bytes (src/parse/native.test.ts compares
 * the two; native/fuzz/fuzz_core.c runs this file under ASan and UBSan).
 *
 * Handled: lines of valid UTF-8 whose decisions fall before their first non-ASCII
 * character (byte index == JS string index there), in the formats auto, json,
 * logfmt, plain and syslog, parsed as JSON, logfmt, RFC 5424, RFC 3164 and plain
 * text. Bailed: invalid UTF-8, over-long lines, JSON the JS round trip would change
 * (\u escapes, numbers that do not print as written, duplicate or integer-like
 * keys, "__proto__", the ECS `log` object, docker's `log` with its '\n'), logfmt
 * with repeated or integer-like keys or a \u escape past ASCII, RFC 5424
 * structured-data escapes and repeats, relayed syslog lines, a BOM, and local
 * wall-clock times when the process time zone is not UTC.
 *
 * Pure C: no N-API here (native/binding.c converts the JS arguments). Every table
 * that mirrors a TypeScript one comes from native/tables.h, which
 * native/gen-tables.ts generates from the TypeScript tables.
 *
 * Memory safety, as the fuzz driver checks it:
 * - output: every write goes through the checked writer W (a line that meets the
 *   end of the output is bailed); the per-line budget (fp_line_budget, reasoned in
 *   fastparse_core.h) is asked for before a line is rendered, so a full writer is
 *   a bug the fuzz driver reports (overflows), not a crash;
 * - per-record arrays: written at idx < recCap only;
 * - internal scratch (members, tokens, SD elements, decoded logfmt values): each
 *   bound is checked where an entry is added, or proven in a comment and asserted
 *   (assert is on unless NDEBUG: the addon is built with NDEBUG, the fuzz build not);
 * - reads of the line: through C() (bounds-checked) or after an explicit bound.
 *
 * Each thread has its own scratch (thread-local): the parse workers call this from
 * several threads. No pointer the caller passed is kept once fp_step returns.
 */
#define FP_CORE_TABLES 1
#include "fastparse_core.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Initial-exec TLS: a plain fs-relative load per access (the default model for a shared
   object calls __tls_get_addr on every access, which made the writer 3x slower). Only
   scalars and pointers are thread-local; the big scratch arrays are on the heap. */
#define TL static __thread __attribute__((tls_model("initial-exec")))

/* ------------------------------------------------------------ state */

/* per line */
TL double g_now;
TL int g_utc;
TL int g_bail; /* set by any helper that meets what it must not decide */
/* Index of the line's first non-ASCII byte (n when none). Up to there a byte index is
   the JS string index; past it, UTF-16 and UTF-8 positions differ, so any decision the
   JS code makes by position or length there goes back to JS. */
TL int g_high;

/* ------------------------------------------------------------ chars */

static inline int C(const uint8_t *s, int n, int p) { return p >= 0 && p < n ? s[p] : -1; }
static inline int isDig(int c) { return c >= 48 && c <= 57; }
static inline int isLetter(int c) { return c >= 0 && (c | 0x20) >= 97 && (c | 0x20) <= 122; }
static inline int hasHigh(const uint8_t *s, int a, int b) {
  for (int i = a; i < b; i++)
    if (s[i] >= 0x80) return 1;
  return 0;
}

/* ------------------------------------------------------------ levels (level.ts) */

static inline int letterLevel(int c) { return c >= 0 && c < 128 ? LETTER_LEVEL[c] : L_NONE; }

/* the level word equal to s[a, a+n) ignoring ASCII case, or L_NONE */
static int wordLevelCi(const uint8_t *s, int a, int n) {
  for (int k = 0; k < FP_NWORDS; k++) {
    const FpWord *w = &LEVEL_WORD_TABLE[k];
    if (w->len != n) continue;
    int i = 0;
    while (i < n && (s[a + i] | 0x20) == (uint8_t)w->w[i]) i++;
    if (i == n) return w->level;
  }
  return L_NONE;
}

/* LEVEL_WORDS.has(s[a, a+n)): a level word in lower, UPPER or Capitalized form exactly */
static int isLevelWordExact(const uint8_t *s, int a, int n) {
  if (n == 0) return 0;
  if (wordLevelCi(s, a, n) == L_NONE) return 0;
  int allLower = 1, allUpper = 1, restLower = 1;
  for (int i = 0; i < n; i++) {
    int c = s[a + i];
    if (!(c >= 97 && c <= 122)) allLower = 0;
    if (!(c >= 65 && c <= 90)) allUpper = 0;
    if (i > 0 && !(c >= 97 && c <= 122)) restLower = 0;
  }
  int firstUpper = s[a] >= 65 && s[a] <= 90;
  return allLower || allUpper || (firstUpper && restLower);
}

static int levelFromInt(double x) {
  if (!(x == floor(x)) || !isfinite(x)) return L_NONE;
  if (x >= 0 && x <= 7) return SYSLOG_SEVERITY[(int)x];
  if (x >= 10 && x < 70) return DECADES[(int)(x / 10) - 1];
  return L_NONE;
}

/* normalizeLevel of a string value s[a, b) (no escapes) */
static int levelOfString(const uint8_t *s, int a, int b) {
  int n = b - a;
  if (n == 0 || n > 16) return L_NONE; /* "" and long strings: no exact hit either */
  int c = s[a];
  if (isDig(c)) {
    int x = 0;
    for (int i = 0; i < n; i++) {
      int d = s[a + i] - 48;
      if (d < 0 || d > 9 || i > 2) return L_NONE;
      x = x * 10 + d;
    }
    return levelFromInt(x);
  }
  /* trim (ASCII whitespace as String#trim sees it), then lowercase: words, letters and the numeric spellings */
  while (a < b && (s[a] == 32 || (s[a] >= 9 && s[a] <= 13))) a++;
  while (b > a && (s[b - 1] == 32 || (s[b - 1] >= 9 && s[b - 1] <= 13))) b--;
  n = b - a;
  if (n == 0) return L_NONE;
  if (n == 1) {
    int l = letterLevel(s[a]);
    if (l != L_NONE && isLetter(s[a])) return l;
    if (s[a] >= '0' && s[a] <= '7') return SYSLOG_SEVERITY[s[a] - '0'];
    return L_NONE;
  }
  if (n == 2 && s[a] >= '1' && s[a] <= '6' && s[a + 1] == '0') return DECADES[s[a] - '1'];
  return wordLevelCi(s, a, n);
}

/* ------------------------------------------------------------ time (time.ts) */

#define MAX_MS 253402300799999.0
#define DAY_MS 86400000.0

TL int t_end; /* timeScan.end */
TL int t_fracMs;
TL int t_offMin;
TL int t_clockH, t_clockM, t_clockS;

static int d2(const uint8_t *s, int n, int p) {
  int a = C(s, n, p) - 48, b = C(s, n, p + 1) - 48;
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1;
  return a * 10 + b;
}
static int d4(const uint8_t *s, int n, int p) {
  int a = d2(s, n, p), b = d2(s, n, p + 2);
  return a < 0 || b < 0 ? -1 : a * 100 + b;
}
int64_t fp_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  int64_t era = (y >= 0 ? y : y - 399) / 400; /* floor division: a year before 1 too */
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
int fp_days_in_month(int64_t y, int m) {
  if (m == 2) return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28;
  return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
}
static int validDateTime(int y, int mo, int d, int h, int mi, int sec) {
  return y >= 1969 && mo >= 1 && mo <= 12 && d >= 1 && d <= fp_days_in_month(y, mo) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 60;
}
static double utcMs(int y, int mo, int d, int h, int mi, int sec, int ms) {
  return (((double)fp_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000.0 + ms;
}
/* Local wall time: only decided here when the process zone is UTC; else the line goes to JS. */
static double localMs(int y, int mo, int d, int h, int mi, int sec, int ms) {
  if (!g_utc) g_bail = 1;
  return utcMs(y, mo, d, h, mi, sec, ms);
}
static double inRange(double ms) { return ms >= 0 && ms <= MAX_MS ? ms : NAN; }

/* three ASCII letters at s[p], lowercased and packed as MONTH_KEYS / WEEKDAY_KEYS are; -1 when not letters */
static int word3(const uint8_t *s, int n, int p) {
  int k = 0;
  for (int i = 0; i < 3; i++) {
    int c = C(s, n, p + i);
    c = c < 0 ? 32 : (c | 0x20);
    if (c < 97 || c > 122) return -1;
    k = (k << 8) | c;
  }
  return k;
}
static int month3(const uint8_t *s, int n, int p) {
  int k = word3(s, n, p);
  if (k < 0) return 0;
  for (int i = 0; i < 12; i++)
    if (MONTH_KEYS[i] == k) return i + 1;
  return 0;
}
static int isWeekday(int k) {
  if (k < 0) return 0;
  for (int i = 0; i < 7; i++)
    if (WEEKDAY_KEYS[i] == k) return 1;
  return 0;
}

static int scanFrac(const uint8_t *s, int n, int p) {
  t_fracMs = 0;
  int c = C(s, n, p);
  if ((c != 46 && c != 44) || !isDig(C(s, n, p + 1))) return p;
  int i = p + 1, k = 0;
  static const int SCALE[3] = {100, 10, 1};
  while (isDig(C(s, n, i))) {
    if (k < 3) t_fracMs += (s[i] - 48) * SCALE[k];
    k++;
    i++;
  }
  return i;
}

static int scanOffset(const uint8_t *s, int n, int p) {
  int c = C(s, n, p);
  if (c == 90 || c == 122) {
    t_offMin = 0;
    return p + 1;
  }
  if (c != 43 && c != 45) return -1;
  int hh = d2(s, n, p + 1);
  if (hh < 0 || hh > 23) return -1;
  int i = p + 3, mm = 0;
  if (C(s, n, i) == 58) {
    mm = d2(s, n, i + 1);
    if (mm < 0) return -1;
    i += 3;
  } else {
    int m2 = d2(s, n, i);
    if (m2 >= 0) {
      mm = m2;
      i += 2;
    }
  }
  if (mm > 59) return -1;
  t_offMin = (c == 45 ? -1 : 1) * (hh * 60 + mm);
  return i;
}

static double scanIso(const uint8_t *s, int n, int p, int whole) {
  if (p + 10 > n) return NAN;
  int y = d4(s, n, p);
  int sep = C(s, n, p + 4);
  if (y < 0 || (sep != 45 && sep != 47) || C(s, n, p + 7) != sep) return NAN;
  int mo = d2(s, n, p + 5), d = d2(s, n, p + 8);
  if (mo < 0 || d < 0) return NAN;
  int i = p + 10, sec = 0, ms = 0;
  int t = C(s, n, i);
  if (!(t == 84 || t == 116 || t == 32)) {
    if (!whole || i != n || !validDateTime(y, mo, d, 0, 0, 0)) return NAN;
    t_end = i;
    return inRange(utcMs(y, mo, d, 0, 0, 0, 0));
  }
  int h = d2(s, n, i + 1), mi = d2(s, n, i + 4);
  if (h < 0 || mi < 0 || C(s, n, i + 3) != 58) return NAN;
  i += 6;
  if (C(s, n, i) == 58) {
    int ss = d2(s, n, i + 1);
    if (ss >= 0) {
      sec = ss;
      i = scanFrac(s, n, i + 3);
      ms = t_fracMs;
    }
  }
  if (!validDateTime(y, mo, d, h, mi, sec)) return NAN;
  int e = scanOffset(s, n, i);
  if (e < 0 && C(s, n, i) == 32) {
    int c = C(s, n, i + 1);
    if ((c == 43 || c == 45) && d4(s, n, i + 2) >= 0 && !isDig(C(s, n, i + 6))) {
      e = scanOffset(s, n, i + 1);
      if (e >= 0 && whole && C(s, n, e) == 32) {
        int j = e + 1;
        while (j < n && s[j] >= 65 && s[j] <= 90) j++;
        if (j == n && j - e > 2) e = j;
      }
    }
  }
  double out;
  if (e >= 0) {
    out = utcMs(y, mo, d, h, mi, sec, ms) - t_offMin * 60000.0;
    i = e;
  } else {
    out = localMs(y, mo, d, h, mi, sec, ms);
  }
  if (whole && i != n) return NAN;
  t_end = i;
  return inRange(out);
}

/* civil year of an epoch day number */
static int yearOfDays(double days) {
  double z = days + 719468;
  double era = floor(z / 146097);
  double doe = z - era * 146097;
  double yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365);
  double doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100));
  double mp = floor((5 * doy + 2) / 153);
  double m = mp < 10 ? mp + 3 : mp - 9;
  return (int)(yoe + era * 400 + (m <= 2 ? 1 : 0));
}

static int scanClock(const uint8_t *s, int n, int p) {
  t_clockH = d2(s, n, p);
  t_clockM = d2(s, n, p + 3);
  t_clockS = d2(s, n, p + 6);
  if (t_clockH < 0 || t_clockM < 0 || t_clockS < 0 || C(s, n, p + 2) != 58 || C(s, n, p + 5) != 58) return -1;
  return scanFrac(s, n, p + 8);
}

static double withInferredYear(int mo, int d, int ms) {
  double ref = g_now;
  if (!g_utc) g_bail = 1;
  /* a `now` outside what an int year can hold goes to JS (the caller bails any time past 9999) */
  if (!(ref >= -8.64e15 && ref <= 8.64e15)) {
    g_bail = 1;
    return NAN;
  }
  int y = yearOfDays(floor(ref / DAY_MS));
  double out = validDateTime(y, mo, d, t_clockH, t_clockM, t_clockS) ? localMs(y, mo, d, t_clockH, t_clockM, t_clockS, ms) : NAN;
  if (!(out <= ref + DAY_MS)) {
    y--;
    out = validDateTime(y, mo, d, t_clockH, t_clockM, t_clockS) ? localMs(y, mo, d, t_clockH, t_clockM, t_clockS, ms) : NAN;
  }
  return out;
}

static double scanBsd(const uint8_t *s, int n, int p) {
  int i = p, ctime = 0;
  if (C(s, n, p + 3) == 32 && isWeekday(word3(s, n, p))) {
    ctime = 1;
    i = p + 4;
  }
  int mo = month3(s, n, i);
  if (mo == 0 || C(s, n, i + 3) != 32) return NAN;
  i += 4;
  if (C(s, n, i) == 32) i++;
  int d = C(s, n, i) - 48;
  if (!(d >= 0 && d <= 9)) return NAN;
  i++;
  int c = C(s, n, i) - 48;
  if (c >= 0 && c <= 9) {
    d = d * 10 + c;
    i++;
  }
  if (C(s, n, i) != 32) return NAN;
  i++;
  int y = -1;
  if (!ctime && C(s, n, i + 4) == 32) {
    y = d4(s, n, i);
    if (y >= 0) i += 5;
  }
  i = scanClock(s, n, i);
  if (i < 0) return NAN;
  int ms = t_fracMs;
  if (ctime) {
    if (C(s, n, i) != 32) return NAN;
    y = d4(s, n, i + 1);
    if (y < 0) return NAN;
    i += 5;
  }
  double out;
  if (y >= 0) {
    if (!validDateTime(y, mo, d, t_clockH, t_clockM, t_clockS)) return NAN;
    out = localMs(y, mo, d, t_clockH, t_clockM, t_clockS, ms);
  } else {
    out = withInferredYear(mo, d, ms);
  }
  t_end = i;
  return inRange(out);
}

static double scanMonthDayClock(const uint8_t *s, int n, int p) {
  int mo = d2(s, n, p), d = d2(s, n, p + 2);
  if (mo < 0 || d < 0 || C(s, n, p + 4) != 32) return NAN;
  int i = scanClock(s, n, p + 5);
  if (i < 0) return NAN;
  double out = withInferredYear(mo, d, t_fracMs);
  t_end = i;
  return inRange(out);
}

static double scanClf(const uint8_t *s, int n, int p) {
  int d = d2(s, n, p);
  int mo = month3(s, n, p + 3);
  if (d < 0 || C(s, n, p + 2) != 47 || mo == 0 || C(s, n, p + 6) != 47) return NAN;
  int y = d4(s, n, p + 7);
  if (y < 0 || C(s, n, p + 11) != 58) return NAN;
  int i = scanClock(s, n, p + 12);
  if (i < 0 || !validDateTime(y, mo, d, t_clockH, t_clockM, t_clockS)) return NAN;
  int ms = t_fracMs;
  double out;
  int e = C(s, n, i) == 32 && C(s, n, i + 1) != 90 ? scanOffset(s, n, i + 1) : -1;
  if (e >= 0) {
    i = e;
    out = utcMs(y, mo, d, t_clockH, t_clockM, t_clockS, ms) - t_offMin * 60000.0;
  } else {
    out = localMs(y, mo, d, t_clockH, t_clockM, t_clockS, ms);
  }
  t_end = i;
  return inRange(out);
}

static double scanTimestamp(const uint8_t *s, int n, int p) {
  int c = C(s, n, p);
  if (isDig(c)) {
    if (C(s, n, p + 2) == 47) return scanClf(s, n, p);
    return scanIso(s, n, p, 0);
  }
  if (isLetter(c)) return scanBsd(s, n, p);
  return NAN;
}

static double jsRound(double x) {
  double f = floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}
static double epochToMs(double v) {
  if (!(v >= 1e8)) return NAN;
  double ms;
  if (v < 1e11) ms = jsRound(v * 1000);
  else if (v < 1e14) ms = jsRound(v);
  else if (v < 1e17) ms = floor(v / 1000);
  else if (v < 1e20) ms = floor(v / 1e6);
  else return NAN;
  return inRange(ms);
}

/* Number(text) of a decimal or JSON number: strtod is correctly rounded, as ECMAScript's conversion is */
static double numberOf(const uint8_t *s, int a, int b) {
  char tmp[64];
  int n = b - a;
  if (n <= 0 || n >= (int)sizeof(tmp)) {
    g_bail = 1;
    return NAN;
  }
  memcpy(tmp, s + a, n);
  tmp[n] = 0;
  return strtod(tmp, NULL);
}

static int isDecimal(const uint8_t *s, int a, int b) {
  int n = b - a;
  if (n == 0 || n > 32) return 0;
  int dot = 0;
  for (int i = 0; i < n; i++) {
    int c = s[a + i];
    if (c == 46) {
      if (dot || i == 0 || i == n - 1) return 0;
      dot = 1;
    } else if (!isDig(c)) return 0;
  }
  return 1;
}

/* parseTimestamp of a string value s[a, b) (no escapes): NAN when it is not a time */
static double timeOfString(const uint8_t *s0, int a, int b) {
  const uint8_t *s = s0 + a;
  int n = b - a;
  double ms;
  int c = C(s, n, 0);
  if (isDig(c)) {
    int sep = C(s, n, 4);
    if (sep == 45 || (sep == 47 && C(s, n, 2) != 47)) ms = scanIso(s, n, 0, 1);
    else if (C(s, n, 2) == 47) {
      ms = scanClf(s, n, 0);
      if (t_end != n) ms = NAN;
    } else ms = isDecimal(s, 0, n) ? epochToMs(numberOf(s, 0, n)) : NAN;
  } else {
    ms = scanTimestamp(s, n, 0);
    if (t_end != n) ms = NAN;
  }
  return ms;
}

/* ------------------------------------------------------------ output: the checked writer */

/* Writes go to [p, end); a write that does not fit sets full, writes nothing and closes
   the writer (end = p: every later write fails too). The line is then bailed. */
typedef struct {
  uint8_t *p, *end;
  int full;
} W;

static inline int wroom(W *w, size_t n) {
  if ((size_t)(w->end - w->p) >= n) return 1;
  w->full = 1;
  w->end = w->p;
  return 0;
}
static inline void put(W *w, const void *src, size_t n) {
  if (!wroom(w, n)) return;
  memcpy(w->p, src, n);
  w->p += n;
}
static inline void put1(W *w, uint8_t c) {
  if (!wroom(w, 1)) return;
  *w->p++ = c;
}
#define PUTS(w, lit) put(w, lit, sizeof(lit) - 1)

/* JSON string content of bytes s[a, b) (ASCII or valid UTF-8), as JSON.stringify escapes it (no quotes) */
static void putEscaped(W *w, const uint8_t *s, int a, int b) {
  int run = a;
  for (int i = a; i < b; i++) {
    uint8_t c = s[i];
    int el = ESC_LEN[c];
    if (el == 0) continue;
    if (i > run) put(w, s + run, i - run);
    run = i + 1;
    put(w, ESC_TEXT[c], el); /* ESC_LEN[c] != 0 only for c < 128 */
  }
  if (b > run) put(w, s + run, b - run);
}

/* JSON string content from a JSON source (validated: only escapes JSON_ESCAPE knows, no \u):
   as is, but an escape the JS round trip writes bare ("\/") is written bare */
static void putJsonContent(W *w, const uint8_t *s, int a, int b) {
  int run = a;
  for (int i = a; i < b; i++) {
    if (s[i] != '\\') continue;
    /* validated: a backslash is followed by its escape character inside [a, b) */
    assert(i + 1 < b && s[i + 1] < 128 && JSON_ESCAPE[s[i + 1]] != 0);
    if (JSON_ESCAPE[s[i + 1]] == 2) {
      if (i > run) put(w, s + run, i - run);
      put1(w, s[i + 1]);
      run = i + 2;
    }
    i++;
  }
  if (b > run) put(w, s + run, b - run);
}

static const char P2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

static inline uint8_t *put2(uint8_t *q, int v) {
  q[0] = P2[2 * v];
  q[1] = P2[2 * v + 1];
  return q + 2;
}

/* `YYYY-MM-DDT` of the last day written (a log's times fall on few days) */
TL int64_t iso_day = INT64_MIN;
TL uint8_t iso_date[11];

#define ISO_LEN 24 /* YYYY-MM-DDTHH:MM:SS.mmmZ */

/* isoTime (core/record.ts) for ms in 1970..9999 */
static void putIso(W *w, double ms) {
  assert(ms >= 0 && ms < 253402300800000.0); /* step bails any other time */
  if (!wroom(w, ISO_LEN)) return;
  int64_t t = (int64_t)floor(ms);
  int64_t days = t / 86400000;
  int rem = (int)(t - days * 86400000);
  if (days != iso_day) {
    /* H. Hinnant's civil_from_days, integer form */
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2 ? 1 : 0));
    uint8_t *q = iso_date;
    q = put2(q, y / 100);
    q = put2(q, y % 100);
    *q++ = '-';
    q = put2(q, m);
    *q++ = '-';
    q = put2(q, d);
    *q++ = 'T';
    assert(q == iso_date + sizeof(iso_date));
    iso_day = days;
  }
  /* 24 bytes, room checked above */
  uint8_t *q = w->p;
  memcpy(q, iso_date, 11);
  q += 11;
  int hh = rem / 3600000, mi = rem / 60000 % 60, ss = rem / 1000 % 60, mss = rem % 1000;
  q = put2(q, hh);
  *q++ = ':';
  q = put2(q, mi);
  *q++ = ':';
  q = put2(q, ss);
  *q++ = '.';
  *q++ = (uint8_t)('0' + mss / 100);
  q = put2(q, mss % 100);
  *q++ = 'Z';
  assert(q == w->p + ISO_LEN);
  w->p = q;
}

/* ------------------------------------------------------------ scratch (per thread, C-owned) */

enum { J_STR, J_NUM, J_TRUE, J_FALSE, J_NULL, J_OBJ, J_ARR };
typedef struct { int ks, ke, vs, ve, type, esc, canon; uint32_t h; } Member;
#define MAX_MEMBERS 128

/* a logfmt token; its value is vals[va, vb) of the line, or of the scratch buffer when scr */
typedef struct { int ks, ke; int bare; int scr; int va, vb; uint32_t h; } Token;
#define MAX_TOKENS 256

#define MAX_SD 16
#define MAX_SDP 64
typedef struct { int a, b, p0, pn; } SdElem;   /* id [a, b), params p0 .. p0 + pn */
typedef struct { int na, nb, va, vb; } SdParam; /* name, value (no escapes) */

/* Each array is its own allocation, so ASan sees an overflow of any of them (in one struct,
   an overflow into the next array would pass unseen). */
typedef struct {
  Member *mem;  /* MAX_MEMBERS */
  int *order;   /* MAX_MEMBERS: fields to write, as member indices */
  Token *tok;   /* MAX_TOKENS */
  SdElem *sde;  /* MAX_SD */
  SdParam *sdp; /* MAX_SDP */
  uint8_t *buf; /* logfmt's decoded values: at least n + 16 bytes for a line of n */
  size_t cap;
} Scratch;

TL Scratch *g_s;

void fp_thread_release(void) {
  if (g_s == NULL) return;
  free(g_s->mem);
  free(g_s->order);
  free(g_s->tok);
  free(g_s->sde);
  free(g_s->sdp);
  free(g_s->buf);
  free(g_s);
  g_s = NULL;
}

/* This thread's scratch with a buffer for a line of n bytes, or NULL (out of memory: the line goes to JS). */
static Scratch *scratchFor(size_t n) {
  if (g_s == NULL) {
    Scratch *sc = calloc(1, sizeof(Scratch));
    if (sc == NULL) return NULL;
    sc->mem = malloc(sizeof(Member) * MAX_MEMBERS);
    sc->order = malloc(sizeof(int) * MAX_MEMBERS);
    sc->tok = malloc(sizeof(Token) * MAX_TOKENS);
    sc->sde = malloc(sizeof(SdElem) * MAX_SD);
    sc->sdp = malloc(sizeof(SdParam) * MAX_SDP);
    g_s = sc;
    if (sc->mem == NULL || sc->order == NULL || sc->tok == NULL || sc->sde == NULL || sc->sdp == NULL) {
      fp_thread_release();
      return NULL;
    }
  }
  if (g_s->cap < n + 16) {
    size_t cap = n * 2 + 256;
    uint8_t *b = malloc(cap);
    if (b == NULL) return NULL;
    free(g_s->buf);
    g_s->buf = b;
    g_s->cap = cap;
  }
  return g_s;
}

/* ------------------------------------------------------------ parsed line */

enum { SK_NONE, SK_ESC, SK_JSON, SK_LIT };
typedef struct { const uint8_t *p; int a, b; int kind; } Str;

typedef struct {
  double time; /* NAN: none */
  int level;
  Str message;
  Str host, app;
} Parsed;

static void putStr(W *w, const Str *s) {
  put1(w, '"');
  if (s->kind == SK_ESC) putEscaped(w, s->p, s->a, s->b);
  else if (s->kind == SK_JSON) putJsonContent(w, s->p, s->a, s->b);
  else put(w, s->p + s->a, s->b - s->a);
  put1(w, '"');
}

/* ------------------------------------------------------------ keys (keys.ts) */

/* role * 16 + rank of the key s[a, b), or -1 */
static int roleOf(const uint8_t *s, int a, int b) {
  int n = b - a;
  if (n == 0 || n > FP_LONGEST_ROLE_KEY) return -1;
  for (int k = 0; k < FP_NROLEKEYS; k++) {
    const FpRoleKey *r = &ROLE_KEYS[k];
    if (r->len == n && (uint8_t)r->k[0] == s[a] && memcmp(r->k, s + a, n) == 0) return r->roleRank;
  }
  return -1;
}

/* FNV-1a of s[a, b): duplicate keys are found by hash first */
static inline uint32_t keyHash(const uint8_t *s, int a, int b) {
  uint32_t h = 2166136261u;
  for (int i = a; i < b; i++) h = (h ^ s[i]) * 16777619u;
  return h;
}

/* keys the JS objects would reorder or treat specially: integer-like ones (V8 puts them first) and "__proto__" */
static int awkwardKey(const uint8_t *s, int a, int b) {
  if (b > a) {
    int digits = 1;
    for (int i = a; i < b; i++)
      if (!isDig(s[i])) {
        digits = 0;
        break;
      }
    if (digits) return 1;
  }
  return b - a == 9 && memcmp(s + a, "__proto__", 9) == 0;
}

/* ------------------------------------------------------------ JSON (json.ts) */

static int skipWs(const uint8_t *s, int n, int p) {
  while (p < n && (s[p] == 32 || s[p] == 9 || s[p] == 10 || s[p] == 13)) p++;
  return p;
}

/* A JSON string at s[p] == '"': end (past the quote) or -1 (invalid or not handled); *esc: has a backslash */
static int jString(const uint8_t *s, int n, int p, int *esc) {
  int i = p + 1;
  *esc = 0;
  while (i < n) {
    int c = s[i];
    if (c == '"') return i + 1;
    if (c < 0x20) return -1;
    if (c == '\\') {
      int e = C(s, n, i + 1);
      if (!(e >= 0 && e < 128 && JSON_ESCAPE[e] != 0)) return -1; /* \u (or invalid): bail */
      *esc = 1;
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

/* A JSON number at s[p]: end or -1; *canon: JSON.stringify would print it exactly as written */
static int jNumber(const uint8_t *s, int n, int p, int *canon) {
  int i = p, neg = 0;
  if (C(s, n, i) == '-') {
    neg = 1;
    i++;
  }
  int is = i;
  if (C(s, n, i) == '0') i++;
  else if (C(s, n, i) >= '1' && C(s, n, i) <= '9') {
    while (isDig(C(s, n, i))) i++;
  } else return -1;
  int intDigits = i - is;
  int intZero = s[is] == '0';
  int fracDigits = 0, lead = 0, trailingZero = 0, hasFrac = 0;
  if (C(s, n, i) == '.') {
    hasFrac = 1;
    i++;
    int fs = i;
    while (isDig(C(s, n, i))) i++;
    fracDigits = i - fs;
    if (fracDigits == 0) return -1;
    while (lead < fracDigits && s[fs + lead] == '0') lead++;
    trailingZero = s[i - 1] == '0';
  }
  int expo = 0;
  if (C(s, n, i) == 'e' || C(s, n, i) == 'E') {
    expo = 1;
    i++;
    if (C(s, n, i) == '+' || C(s, n, i) == '-') i++;
    if (!isDig(C(s, n, i))) return -1;
    while (isDig(C(s, n, i))) i++;
  }
  int sig = intZero ? fracDigits - lead : intDigits + fracDigits;
  int c = 1;
  if (expo || trailingZero || sig > 15) c = 0;
  else if (intZero && !hasFrac && neg) c = 0;      /* -0 prints 0 */
  else if (intZero && hasFrac && lead >= 6) c = 0; /* below 1e-6 prints with an exponent */
  *canon = c;
  return i;
}

/* Any JSON value at s[p] (nested values must round-trip exactly): end or -1 */
static int jValue(const uint8_t *s, int n, int p, int depth, int *type, int *esc, int *canon);

static int jObject(const uint8_t *s, int n, int p, int depth) {
  /* nested object: keys unique and not awkward */
  int keys[64];
  int kn = 0;
  int i = skipWs(s, n, p + 1);
  if (C(s, n, i) == '}') return i + 1;
  for (;;) {
    if (C(s, n, i) != '"') return -1;
    int kesc;
    int ke = jString(s, n, i, &kesc);
    if (ke < 0 || kesc || awkwardKey(s, i + 1, ke - 1)) return -1;
    for (int k = 0; k < kn; k += 2)
      if (keys[k + 1] - keys[k] == ke - 1 - (i + 1) && memcmp(s + keys[k], s + i + 1, ke - 1 - (i + 1)) == 0) return -1;
    if (kn + 2 > 64) return -1; /* more than 32 keys in a nested object: JS */
    keys[kn++] = i + 1;
    keys[kn++] = ke - 1;
    i = skipWs(s, n, ke);
    if (C(s, n, i) != ':') return -1;
    i = skipWs(s, n, i + 1);
    int t, e, cn;
    i = jValue(s, n, i, depth + 1, &t, &e, &cn);
    if (i < 0 || (t == J_NUM && !cn)) return -1;
    i = skipWs(s, n, i);
    if (C(s, n, i) == ',') {
      i = skipWs(s, n, i + 1);
      continue;
    }
    if (C(s, n, i) == '}') return i + 1;
    return -1;
  }
}

static int jArray(const uint8_t *s, int n, int p, int depth) {
  int i = skipWs(s, n, p + 1);
  if (C(s, n, i) == ']') return i + 1;
  for (;;) {
    int t, e, cn;
    i = jValue(s, n, i, depth + 1, &t, &e, &cn);
    if (i < 0 || (t == J_NUM && !cn)) return -1;
    i = skipWs(s, n, i);
    if (C(s, n, i) == ',') {
      i = skipWs(s, n, i + 1);
      continue;
    }
    if (C(s, n, i) == ']') return i + 1;
    return -1;
  }
}

static int jValue(const uint8_t *s, int n, int p, int depth, int *type, int *esc, int *canon) {
  int c = C(s, n, p);
  *esc = 0;
  *canon = 1;
  *type = J_NULL;
  if (depth > 48) return -1;
  switch (c) {
    case '"': *type = J_STR; return jString(s, n, p, esc);
    case '{': *type = J_OBJ; return jObject(s, n, p, depth);
    case '[': *type = J_ARR; return jArray(s, n, p, depth);
    case 't': *type = J_TRUE; return p + 4 <= n && memcmp(s + p, "true", 4) == 0 ? p + 4 : -1;
    case 'f': *type = J_FALSE; return p + 5 <= n && memcmp(s + p, "false", 5) == 0 ? p + 5 : -1;
    case 'n': *type = J_NULL; return p + 4 <= n && memcmp(s + p, "null", 4) == 0 ? p + 4 : -1;
    default:
      *type = J_NUM;
      if (c == '-' || isDig(c)) return jNumber(s, n, p, canon);
      return -1;
  }
}

/* a validated JSON value s[a, b), minified as JSON.stringify(JSON.parse(...)) writes it */
static void putJsonMin(W *w, const uint8_t *s, int a, int b) {
  int i = a, run = a;
  while (i < b) {
    int c = s[i];
    if (c == '"') {
      if (i > run) put(w, s + run, i - run);
      int j = i + 1;
      /* validated: the closing quote is inside [a, b) */
      while (j < b && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
      assert(j < b);
      put1(w, '"');
      putJsonContent(w, s, i + 1, j);
      put1(w, '"');
      i = j + 1;
      run = i;
    } else if (c == 32 || c == 9 || c == 10 || c == 13) {
      if (i > run) put(w, s + run, i - run);
      i++;
      run = i;
    } else {
      i++;
    }
  }
  if (b > run) put(w, s + run, b - run);
}

TL int g_nfields; /* fields to write, as member indices in g_s->order */

/* parseJson: 1 parsed (or g_bail set), 0 not an object (the caller decides) */
static int parseJson(const uint8_t *s, int n, Parsed *out) {
  Member *mem = g_s->mem;
  int *order = g_s->order;
  int i = skipWs(s, n, 0);
  if (C(s, n, i) != '{') return 0;
  int nm = 0;
  i = skipWs(s, n, i + 1);
  if (C(s, n, i) != '}') {
    for (;;) {
      if (C(s, n, i) != '"' || nm >= MAX_MEMBERS) goto bail;
      Member *m = &mem[nm];
      int kesc;
      int ke = jString(s, n, i, &kesc);
      if (ke < 0 || kesc || awkwardKey(s, i + 1, ke - 1)) goto bail;
      m->ks = i + 1;
      m->ke = ke - 1;
      m->h = keyHash(s, m->ks, m->ke);
      for (int k = 0; k < nm; k++)
        if (mem[k].h == m->h && mem[k].ke - mem[k].ks == m->ke - m->ks && memcmp(s + mem[k].ks, s + m->ks, m->ke - m->ks) == 0) goto bail;
      i = skipWs(s, n, ke);
      if (C(s, n, i) != ':') goto bail;
      i = skipWs(s, n, i + 1);
      m->vs = i;
      i = jValue(s, n, i, 1, &m->type, &m->esc, &m->canon);
      if (i < 0) goto bail;
      m->ve = i;
      nm++;
      i = skipWs(s, n, i);
      if (C(s, n, i) == ',') {
        i = skipWs(s, n, i + 1);
        continue;
      }
      if (C(s, n, i) == '}') break;
      goto bail;
    }
  }
  if (skipWs(s, n, i + 1) != n) goto bail;

  /* Each member is added to order at most once: right away, or when a better key of its
     role displaces it (the member it displaces was never added). So nf <= nm <= MAX_MEMBERS. */
  int nf = 0;
#define PUSH(k) (assert(nf < MAX_MEMBERS), order[nf++] = (k))
  int mKey = -1, mRank = 99, lKey = -1, lRank = 99, tKey = -1, tRank = 99, hKey = -1, hRank = 99, aKey = -1, aRank = 99;
  out->time = NAN;
  out->level = L_NONE;
  out->host.kind = SK_NONE;
  out->app.kind = SK_NONE;
  for (int k = 0; k < nm; k++) {
    Member *m = &mem[k];
    int r = roleOf(s, m->ks, m->ke);
    if (r < 0) {
      PUSH(k);
      continue;
    }
    int rank = r & 15;
    switch (r >> 4) {
      case R_MESSAGE: {
        int isMsg = 0;
        int isLog = m->ke - m->ks == 3 && memcmp(s + m->ks, "log", 3) == 0;
        if (m->type == J_STR) {
          /* docker's log with its '\n' (and a "\\n" that is not one): to JS */
          if (isLog && m->ve - m->vs >= 3 && s[m->ve - 2] == 'n' && s[m->ve - 3] == '\\') goto bail;
          isMsg = 1;
        } else if (m->type == J_NUM || m->type == J_TRUE || m->type == J_FALSE) {
          if (m->type == J_NUM && !m->canon) goto bail;
          isMsg = 1;
        } else if (isLog && m->type == J_OBJ) {
          goto bail; /* ECS log object */
        }
        if (isMsg && rank < mRank) {
          if (mKey >= 0) PUSH(mKey);
          mKey = k;
          mRank = rank;
        } else PUSH(k);
        break;
      }
      case R_LEVEL: {
        int l = L_NONE;
        if (rank < lRank) {
          if (m->type == J_STR) {
            if (m->esc || hasHigh(s, m->vs, m->ve)) goto bail; /* String#trim knows non-ASCII spaces */
            l = levelOfString(s, m->vs + 1, m->ve - 1);
          } else if (m->type == J_NUM) {
            l = levelFromInt(numberOf(s, m->vs, m->ve));
          }
        }
        if (l != L_NONE) {
          if (lKey >= 0) PUSH(lKey);
          out->level = l;
          lKey = k;
          lRank = rank;
        } else PUSH(k);
        break;
      }
      case R_TIME: {
        double t = NAN;
        if (rank < tRank) {
          if (m->type == J_STR) {
            if (m->esc || hasHigh(s, m->vs, m->ve)) goto bail;
            t = timeOfString(s, m->vs + 1, m->ve - 1);
          } else if (m->type == J_NUM) {
            t = epochToMs(numberOf(s, m->vs, m->ve));
          }
        }
        if (t == t) {
          if (tKey >= 0) PUSH(tKey);
          out->time = t;
          tKey = k;
          tRank = rank;
        } else PUSH(k);
        break;
      }
      case R_HOST:
        if (m->type == J_STR && m->ve - m->vs > 2 && rank < hRank) {
          if (hKey >= 0) PUSH(hKey);
          hKey = k;
          hRank = rank;
        } else PUSH(k);
        break;
      default:
        if (m->type == J_STR && m->ve - m->vs > 2 && rank < aRank) {
          if (aKey >= 0) PUSH(aKey);
          aKey = k;
          aRank = rank;
        } else PUSH(k);
        break;
    }
  }
#undef PUSH
  /* every number that is written must print as written */
  for (int k = 0; k < nf; k++)
    if (mem[order[k]].type == J_NUM && !mem[order[k]].canon) goto bail;
  g_nfields = nf;
  if (mKey >= 0) {
    Member *m = &mem[mKey];
    if (m->type == J_STR) out->message = (Str){s, m->vs + 1, m->ve - 1, SK_JSON};
    else out->message = (Str){s, m->vs, m->ve, SK_LIT};
  } else {
    out->message = (Str){s, 0, n, SK_ESC};
  }
  if (hKey >= 0) out->host = (Str){s, mem[hKey].vs + 1, mem[hKey].ve - 1, SK_JSON};
  if (aKey >= 0) out->app = (Str){s, mem[aKey].vs + 1, mem[aKey].ve - 1, SK_JSON};
  return 1;
bail:
  g_bail = 1;
  return 1;
}

static void putJsonFields(W *w, const uint8_t *s) {
  if (g_nfields == 0) {
    PUTS(w, ",\"fields\":{}}");
    return;
  }
  PUTS(w, ",\"fields\":{");
  for (int k = 0; k < g_nfields; k++) {
    const Member *m = &g_s->mem[g_s->order[k]];
    if (k > 0) put1(w, ',');
    put1(w, '"');
    put(w, s + m->ks, m->ke - m->ks); /* keys have no escapes here */
    put1(w, '"');
    put1(w, ':');
    putJsonMin(w, s, m->vs, m->ve);
  }
  PUTS(w, "}}");
}

/* ------------------------------------------------------------ logfmt (logfmt.ts) */

TL int g_ntok;
TL int g_skip[5];

TL int q_end;
/*
 * scanQuoted: the quoted value at s[q] == '"' as [*va, *vb) of the line (*scr 0), or
 * decoded into the scratch buffer at *wpos (*scr 1; *wpos advanced when keep).
 * Bound of the scratch: a value decodes to at most as many bytes as it spans in the
 * line (each escape decodes to one byte), the values kept lie in disjoint parts of
 * the line and one thrown away (keep 0) is written past the kept ones and then
 * overwritten, so *wpos + what is written <= n <= cap - 16 (scratchFor).
 */
static void scanQuoted(const uint8_t *s, int n, int q, int *va, int *vb, int *scr, size_t *wpos, int keep) {
  int start = q + 1;
  const uint8_t *close = start < n ? memchr(s + start, '"', n - start) : NULL;
  const uint8_t *bs = close != NULL ? memchr(s + start, '\\', close - (s + start)) : (const uint8_t *)1;
  if (close != NULL && bs == NULL) {
    q_end = (int)(close - s) + 1;
    *va = start;
    *vb = (int)(close - s);
    *scr = 0;
    return;
  }
  uint8_t *buf = g_s->buf;
  size_t w = *wpos, w0 = w;
  int run = start, i = start;
  while (i < n) {
    int c = s[i];
    if (c == 34) {
      q_end = i + 1;
      goto done;
    }
    if (c != 92 || i + 1 >= n) {
      i++;
      continue;
    }
    int e = s[i + 1];
    int rep = -1, skip = 2;
    if (e == 34) rep = '"';
    else if (e == 92) rep = '\\';
    else if (e == 110) rep = '\n';
    else if (e == 114) rep = '\r';
    else if (e == 116) rep = '\t';
    else if (e == 117 && i + 5 < n) {
      int h = 0, ok = 1;
      for (int k = 2; k < 6; k++) {
        int x = s[i + k];
        int v = x >= 48 && x <= 57 ? x - 48 : ((x | 0x20) >= 97 && (x | 0x20) <= 102) ? (x | 0x20) - 87 : -1;
        if (v < 0) ok = 0;
        h = (h << 4) | (v & 15);
      }
      if (ok) {
        if (h >= 0x80) g_bail = 1; /* not ASCII any more */
        rep = h;
        skip = 6;
      }
    }
    if (rep < 0) {
      i += 2;
      continue;
    }
    assert(w + (size_t)(i - run) + 1 <= g_s->cap);
    memcpy(buf + w, s + run, i - run);
    w += i - run;
    buf[w++] = (uint8_t)rep;
    i += skip;
    run = i;
  }
  q_end = n;
done:
  assert(w + (size_t)(i - run) <= (size_t)n && (size_t)n + 16 <= g_s->cap);
  memcpy(buf + w, s + run, i - run);
  w += i - run;
  *va = (int)w0;
  *vb = (int)w;
  *scr = 1;
  if (keep) *wpos = w;
}

static inline const uint8_t *tokVals(const Token *t, const uint8_t *s) { return t->scr ? g_s->buf : s; }

/* 1: logfmt (tokens in g_s->tok), 0: not logfmt */
static int parseLogfmt(const uint8_t *s, int n, Parsed *out) {
  Token *tok = g_s->tok;
  int nt = 0, pairs = 0, hasMsg = 0, i = 0;
  size_t wpos = 0;
  while (i < n) {
    int c = s[i];
    if (c <= 32) {
      i++;
      continue;
    }
    int ks = i;
    while (c > 32 && c != 61 && c != 34) {
      if (++i >= n) break;
      c = s[i];
    }
    if (i == ks || (i < n && c == 34)) {
      while (i < n && (c = s[i]) > 32) {
        if (c == 34) {
          int va, vb, scr;
          scanQuoted(s, n, i, &va, &vb, &scr, &wpos, 0); /* decoded and thrown away */
          i = q_end;
        } else i++;
      }
      continue;
    }
    if (nt >= MAX_TOKENS) {
      g_bail = 1;
      return 1;
    }
    Token *t = &tok[nt];
    t->ks = ks;
    t->ke = i;
    if (i < n && c == 61) {
      i++;
      t->bare = 0;
      if (i < n && s[i] == 34) {
        scanQuoted(s, n, i, &t->va, &t->vb, &t->scr, &wpos, 1);
        i = q_end;
      } else {
        int vs = i;
        while (i < n && s[i] > 32) i++;
        t->scr = 0;
        t->va = vs;
        t->vb = i;
      }
      pairs++;
      int kl = t->ke - t->ks;
      if ((kl == 3 && memcmp(s + ks, "msg", 3) == 0) || (kl == 7 && memcmp(s + ks, "message", 7) == 0)) hasMsg = 1;
    } else {
      t->bare = 1;
      t->scr = 0;
      t->va = t->vb = 0;
    }
    nt++;
  }
  if (pairs < 2 && !hasMsg) return 0;
  /* keys the fields object would reorder or merge: to JS */
  for (int j = 0; j < nt; j++) {
    if (awkwardKey(s, tok[j].ks, tok[j].ke)) {
      g_bail = 1;
      return 1;
    }
    tok[j].h = keyHash(s, tok[j].ks, tok[j].ke);
    for (int k = 0; k < j; k++)
      if (tok[k].h == tok[j].h && tok[k].ke - tok[k].ks == tok[j].ke - tok[j].ks && memcmp(s + tok[k].ks, s + tok[j].ks, tok[j].ke - tok[j].ks) == 0) {
        g_bail = 1;
        return 1;
      }
  }
  int mi = -1, li = -1, ti = -1, hi = -1, ai = -1;
  int mr = 99, lr = 99, tr = 99, hr = 99, ar = 99;
  out->time = NAN;
  out->level = L_NONE;
  out->host.kind = SK_NONE;
  out->app.kind = SK_NONE;
  for (int j = 0; j < nt; j++) {
    Token *t = &tok[j];
    int r = roleOf(s, t->ks, t->ke);
    if (r < 0 || t->bare) continue;
    const uint8_t *vp = tokVals(t, s);
    int rank = r & 15;
    switch (r >> 4) {
      case R_MESSAGE:
        if (rank < mr) {
          mr = rank;
          mi = j;
        }
        break;
      case R_LEVEL:
        if (rank < lr) {
          if (hasHigh(vp, t->va, t->vb)) {
            g_bail = 1;
            return 1;
          }
          int l = levelOfString(vp, t->va, t->vb);
          if (l != L_NONE) {
            lr = rank;
            li = j;
            out->level = l;
          }
        }
        break;
      case R_TIME:
        if (rank < tr) {
          if (hasHigh(vp, t->va, t->vb)) {
            g_bail = 1;
            return 1;
          }
          double tm = timeOfString(vp, t->va, t->vb);
          if (tm == tm) {
            tr = rank;
            ti = j;
            out->time = tm;
          }
        }
        break;
      case R_HOST:
        if (rank < hr && t->vb > t->va) {
          hr = rank;
          hi = j;
        }
        break;
      case R_APP:
        if (rank < ar && t->vb > t->va) {
          ar = rank;
          ai = j;
        }
        break;
    }
  }
  g_ntok = nt;
  g_skip[0] = mi;
  g_skip[1] = li;
  g_skip[2] = ti;
  g_skip[3] = hi;
  g_skip[4] = ai;
  out->message = mi >= 0 ? (Str){tokVals(&tok[mi], s), tok[mi].va, tok[mi].vb, SK_ESC} : (Str){s, 0, n, SK_ESC};
  if (hi >= 0) out->host = (Str){tokVals(&tok[hi], s), tok[hi].va, tok[hi].vb, SK_ESC};
  if (ai >= 0) out->app = (Str){tokVals(&tok[ai], s), tok[ai].va, tok[ai].vb, SK_ESC};
  return 1;
}

static void putLogfmtFields(W *w, const uint8_t *s) {
  int first = 1;
  for (int j = 0; j < g_ntok; j++) {
    if (j == g_skip[0] || j == g_skip[1] || j == g_skip[2] || j == g_skip[3] || j == g_skip[4]) continue;
    const Token *t = &g_s->tok[j];
    if (first) PUTS(w, ",\"fields\":{");
    else put1(w, ',');
    first = 0;
    put1(w, '"');
    putEscaped(w, s, t->ks, t->ke);
    put1(w, '"');
    put1(w, ':');
    if (t->bare) PUTS(w, "true");
    else {
      put1(w, '"');
      putEscaped(w, tokVals(t, s), t->va, t->vb);
      put1(w, '"');
    }
  }
  if (first) PUTS(w, ",\"fields\":{}}");
  else PUTS(w, "}}");
}

/* ------------------------------------------------------------ syslog (syslog-common.ts, syslog3164.ts) */

TL int p_end;
static int scanPri(const uint8_t *s, int n) {
  if (C(s, n, 0) != 60) return -1;
  int v = 0, i = 1;
  for (; i < 5; i++) {
    int c = C(s, n, i);
    if (c == 62) break;
    int d = c - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  if (i == 1 || i == 5 || C(s, n, i) != 62 || v > 191 || (i > 2 && C(s, n, 1) == 48)) return -1;
  p_end = i + 1;
  return v;
}

TL int tag_a, tag_b, tag_pa, tag_pb; /* name and pid (pa < 0: none) */
static int scanTag(const uint8_t *s, int a, int e) {
  if (e - a < 2 || e - a > 128) return 0;
  int end = e;
  int colon = s[end - 1] == 58;
  if (colon) end--;
  if (end - 1 >= a && s[end - 1] == 93) {
    int open = -1;
    for (int k = end - 1; k >= 0; k--) /* line.lastIndexOf('[', end - 1): the whole line back */
      if (s[k] == '[') {
        open = k;
        break;
      }
    if (open <= a || open >= end - 2) return 0;
    for (int k = open + 1; k < end - 1; k++)
      if (s[k] < 48 || s[k] > 57) return 0;
    for (int k = a; k < open; k++)
      if (s[k] == '[' || s[k] == ':') return 0;
    tag_a = a;
    tag_b = open;
    tag_pa = open + 1;
    tag_pb = end - 1;
    return 1;
  }
  if (!colon || end == a) return 0;
  for (int k = a; k < end; k++) {
    int c = s[k];
    if (c == 91 || c == 93 || c == 58) return 0;
  }
  tag_a = a;
  tag_b = end;
  tag_pa = -1;
  return 1;
}

static int tokenEnd(const uint8_t *s, int n, int i) {
  const uint8_t *sp = i < n ? memchr(s + i, ' ', n - i) : NULL;
  return sp == NULL ? n : (int)(sp - s);
}
static int skipSpaces(const uint8_t *s, int n, int i) {
  while (i < n && s[i] == 32) i++;
  return i;
}
static int hostLike(const uint8_t *s, int a, int e) {
  for (int i = a; i < e; i++) {
    int c = s[i];
    if (!((c >= 48 && c <= 58) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c == 45 || c == 46 || c == 95)) return 0;
  }
  return 1;
}

TL int s_pri, s_pidA, s_pidB;
TL int s_seen; /* the furthest position a decision looked at */
/* parseSyslog3164: 1 parsed, 0 not syslog */
static int parse3164Ascii(const uint8_t *s, int n, Parsed *out) {
  int pri = scanPri(s, n);
  int i = pri >= 0 ? p_end : 0;
  int c0 = C(s, n, i);
  double time = NAN;
  s_seen = i + 48;
  int iso = 0;
  if (isDig(c0) || isLetter(c0)) {
    double t = scanTimestamp(s, n, i);
    if (t == t && (t_end == n || C(s, n, t_end) == 32)) {
      time = t;
      iso = c0 <= 57;
      i = skipSpaces(s, n, t_end);
      if (t_end + 1 > s_seen) s_seen = t_end + 1;
    }
  }
  if (time != time && pri < 0) return 0;
  int hostA = -1, hostB = -1, appA = -1, appB = -1, pidA = -1, pidB = -1;
  int t1s = i, t1e = tokenEnd(s, n, i);
  if (t1e + 1 > s_seen) s_seen = t1e + 1;
  if (t1e > t1s && scanTag(s, t1s, t1e)) {
    appA = tag_a;
    appB = tag_b;
    pidA = tag_pa;
    pidB = tag_pb;
    i = t1e + 1;
    if (pri < 0 && iso && isLevelWordExact(s, appA, appB - appA)) return 0;
  } else if (time == time && t1e > t1s) {
    if (pri < 0 && iso && !hostLike(s, t1s, t1e)) return 0;
    int t2s = skipSpaces(s, n, t1e), t2e = tokenEnd(s, n, t2s);
    if (t2e + 1 > s_seen) s_seen = t2e + 1;
    if (t2e > t2s && scanTag(s, t2s, t2e)) {
      hostA = t1s;
      hostB = t1e;
      appA = tag_a;
      appB = tag_b;
      pidA = tag_pa;
      pidB = tag_pb;
      i = t2e + 1;
    } else if (pri < 0 && iso) {
      return 0;
    } else {
      hostA = t1s;
      hostB = t1e;
      i = t2s;
    }
    if (pri < 0 && iso && (isLevelWordExact(s, hostA, hostB - hostA) || (appA >= 0 && isLevelWordExact(s, appA, appB - appA)))) return 0;
  } else if (pri < 0 && iso) {
    return 0;
  }
  out->time = time;
  out->message = i >= n ? (Str){s, 0, 0, SK_ESC} : (Str){s, i, n, SK_ESC};
  out->host = hostA >= 0 ? (Str){s, hostA, hostB, SK_ESC} : (Str){0, 0, 0, SK_NONE};
  out->app = appA >= 0 ? (Str){s, appA, appB, SK_ESC} : (Str){0, 0, 0, SK_NONE};
  out->level = pri >= 0 ? SYSLOG_SEVERITY[pri & 7] : L_NONE;
  s_pri = pri;
  s_pidA = pidA;
  s_pidB = pidB;
  return 1;
}

/* parseSyslog3164, where every decision fell before the first non-ASCII character */
static int parse3164(const uint8_t *s, int n, Parsed *out) {
  int r = parse3164Ascii(s, n, out);
  if (g_high < n && g_high < s_seen) g_bail = 1;
  return r;
}

static void putFacility(W *w, int pri) {
  assert(pri >= 0 && pri <= 191); /* scanPri */
  put(w, FACILITIES[pri >> 3], FACILITY_LEN[pri >> 3]);
}

static void put3164Fields(W *w, const uint8_t *s) {
  if (s_pri < 0 && s_pidA < 0) {
    PUTS(w, ",\"fields\":{}}");
    return;
  }
  PUTS(w, ",\"fields\":{");
  if (s_pri >= 0) {
    PUTS(w, "\"facility\":\"");
    putFacility(w, s_pri);
    put1(w, '"');
  }
  if (s_pidA >= 0) {
    if (s_pri >= 0) put1(w, ',');
    PUTS(w, "\"pid\":\"");
    put(w, s + s_pidA, s_pidB - s_pidA); /* digits */
    put1(w, '"');
  }
  PUTS(w, "}}");
}

/* ------------------------------------------------------------ RFC 5424 (syslog5424.ts) */

TL int r_nsd, r_hasSd, r_procA, r_procB, r_msgidA, r_msgidB, r_pri;

static int sameBytes(const uint8_t *s, int a, int b, int c, int d) { return b - a == d - c && memcmp(s + a, s + c, b - a) == 0; }

/* scanSd: elements into g_s->sde/sdp; returns the end, *bad the start of a bad element (-1: none); bail on what JS would merge or unescape */
static int scanSd(const uint8_t *s, int n, int i, int *bad) {
  SdElem *sde = g_s->sde;
  SdParam *sdp = g_s->sdp;
  int ne = 0, np = 0;
  *bad = -1;
  while (i < n && s[i] == 91) {
    int start = i;
    i++;
    int j = i;
    while (j < n) {
      int c = s[j];
      if (c == 32 || c == 93 || c == 61 || c == 34) break;
      j++;
    }
    int c = C(s, n, j);
    if (j == i || (c != 32 && c != 93)) {
      *bad = start;
      break;
    }
    if (ne >= MAX_SD) {
      g_bail = 1;
      return i;
    }
    SdElem *e = &sde[ne];
    e->a = i;
    e->b = j;
    e->p0 = np;
    e->pn = 0;
    if (awkwardKey(s, i, j)) g_bail = 1;
    for (int k = 0; k < ne; k++)
      if (sameBytes(s, sde[k].a, sde[k].b, i, j)) g_bail = 1; /* merged by JS */
    i = j;
    int ok = 0;
    while (i < n) {
      while (i < n && s[i] == 32) i++;
      if (C(s, n, i) == 93) {
        ok = 1;
        i++;
        break;
      }
      int k = i;
      while (k < n) {
        int d = s[k];
        if (d == 61 || d == 32 || d == 93 || d == 34) break;
        k++;
      }
      if (k == i || C(s, n, k) != 61 || C(s, n, k + 1) != 34) break;
      /* the value: to the next '"'; a backslash before it means escapes: JS */
      int v = k + 2, q = v;
      while (q < n && s[q] != 34 && s[q] != 92) q++;
      if (q < n && s[q] == 92) {
        g_bail = 1;
        return i;
      }
      if (q >= n) break; /* unterminated: the element is bad */
      if (np >= MAX_SDP) {
        g_bail = 1;
        return i;
      }
      if (awkwardKey(s, i, k)) g_bail = 1;
      for (int x = e->p0; x < np; x++)
        if (sameBytes(s, sdp[x].na, sdp[x].nb, i, k)) g_bail = 1; /* repeated: an array in JS */
      sdp[np++] = (SdParam){i, k, v, q};
      e->pn++;
      i = q + 1;
    }
    if (!ok) {
      np = e->p0;
      *bad = start;
      break;
    }
    ne++;
  }
  r_nsd = ne;
  return i;
}

/* 1: parsed as RFC 5424 (fields in r_*), 0: not 5424 (the caller tries 3164) */
static int parse5424(const uint8_t *s, int n, Parsed *out) {
  int pri = scanPri(s, n);
  if (pri < 0) return 0;
  int i = p_end;
  int v0 = C(s, n, i);
  if (v0 < 49 || v0 > 57) return 0;
  i++;
  while (i < p_end + 3 && isDig(C(s, n, i))) i++;
  if (C(s, n, i) != 32) return 0;
  i++;
  int st[5], en[5];
  for (int f = 0; f < 5; f++) {
    while (i < n && s[i] == 32) i++;
    const uint8_t *sp = i < n ? memchr(s + i, ' ', n - i) : NULL;
    if (sp == NULL) {
      if (f < 4 || i >= n) return 0;
      st[f] = i;
      en[f] = n;
      i = n;
      break;
    }
    st[f] = i;
    en[f] = (int)(sp - s);
    i = en[f] + 1;
  }
  double time = NAN;
  if (!(en[0] - st[0] == 1 && s[st[0]] == 45)) {
    double t = scanTimestamp(s, n, st[0]);
    if (t == t && t_end == en[0]) time = t;
  }
  while (i < n && s[i] == 32) i++;
  int msgStart = i;
  int c = C(s, n, i);
  r_hasSd = 0;
  if (c == 45 && (i + 1 >= n || s[i + 1] == 32)) {
    msgStart = i + 2;
  } else if (c == 91) {
    int bad;
    int e = scanSd(s, n, i, &bad);
    if (g_bail) return 1;
    r_hasSd = r_nsd > 0;
    if (bad >= 0) msgStart = bad;
    else msgStart = C(s, n, e) == 32 ? e + 1 : e;
  }
  /* positions past a non-ASCII character are not the JS string's */
  if (g_high < n && g_high < (msgStart < n ? msgStart : n)) {
    g_bail = 1;
    return 1;
  }
  int ms = msgStart >= n ? n : msgStart;
  /* a relayed syslog line inside the message (finish -> unwrap), or a BOM: JS */
  int m0 = C(s, n, ms);
  if (m0 == 60 || m0 == 0xef || (m0 == 49 && C(s, n, ms + 1) == 32 && isDig(C(s, n, ms + 2)))) {
    g_bail = 1;
    return 1;
  }
  if (isDig(m0) || isLetter(m0)) {
    double t = scanTimestamp(s, n, ms);
    if (t == t && C(s, n, t_end) == 32) {
      g_bail = 1;
      return 1;
    }
  }
  out->time = time;
  out->level = SYSLOG_SEVERITY[pri & 7];
  out->message = (Str){s, ms, n, SK_ESC};
  int dash1 = en[1] - st[1] == 1 && s[st[1]] == 45, dash2 = en[2] - st[2] == 1 && s[st[2]] == 45;
  out->host = dash1 ? (Str){0, 0, 0, SK_NONE} : (Str){s, st[1], en[1], SK_ESC};
  out->app = dash2 ? (Str){0, 0, 0, SK_NONE} : (Str){s, st[2], en[2], SK_ESC};
  r_pri = pri;
  r_procA = en[3] - st[3] == 1 && s[st[3]] == 45 ? -1 : st[3];
  r_procB = en[3];
  r_msgidA = en[4] - st[4] == 1 && s[st[4]] == 45 ? -1 : st[4];
  r_msgidB = en[4];
  return 1;
}

static void put5424Fields(W *w, const uint8_t *s) {
  PUTS(w, ",\"fields\":{\"facility\":\"");
  putFacility(w, r_pri);
  put1(w, '"');
  if (r_procA >= 0) {
    PUTS(w, ",\"procid\":\"");
    putEscaped(w, s, r_procA, r_procB);
    put1(w, '"');
  }
  if (r_msgidA >= 0) {
    PUTS(w, ",\"msgid\":\"");
    putEscaped(w, s, r_msgidA, r_msgidB);
    put1(w, '"');
  }
  if (r_hasSd) {
    PUTS(w, ",\"sd\":{");
    for (int e = 0; e < r_nsd; e++) {
      const SdElem *el = &g_s->sde[e];
      if (e > 0) put1(w, ',');
      put1(w, '"');
      putEscaped(w, s, el->a, el->b);
      PUTS(w, "\":{");
      for (int k = 0; k < el->pn; k++) {
        const SdParam *p = &g_s->sdp[el->p0 + k];
        if (k > 0) put1(w, ',');
        put1(w, '"');
        putEscaped(w, s, p->na, p->nb);
        PUTS(w, "\":\"");
        putEscaped(w, s, p->va, p->vb);
        put1(w, '"');
      }
      put1(w, '}');
    }
    put1(w, '}');
  }
  PUTS(w, "}}");
}

/* ------------------------------------------------------------ plain (plain.ts) */

static inline int cls(int c) { return c >= 0 && c < 128 ? CLASS[c] : K_OTHER; }

/* Does s[.., e) end with the ASCII key (lowercase), in any case? */
static int endsWithCi(const uint8_t *s, int e, const FpWord *key) {
  int n = key->len;
  if (e < n) return 0;
  for (int i = 0; i < n; i++)
    if ((s[e - n + i] | 0x20) != (uint8_t)key->w[i]) return 0;
  return 1;
}
static int levelKeyBefore(const uint8_t *s, int e) {
  for (int k = 0; k < FP_NASSIGNKEYS; k++)
    if (endsWithCi(s, e, &LEVEL_ASSIGN_KEY_TABLE[k])) return 1;
  return 0;
}

static int scanLevel(const uint8_t *s, int len, int from) {
  int stop = len < from + FP_LEVEL_WINDOW ? len : from + FP_LEVEL_WINDOW;
  int i = from;
  while (i < stop) {
    int k = cls(s[i]);
    if (k == K_OTHER) {
      i++;
      continue;
    }
    int ws = i;
    if (k == K_WORDISH || (ws > 0 && cls(s[ws - 1]) != K_OTHER)) {
      while (i < len && cls(s[i]) != K_OTHER) i++;
      continue;
    }
    int upper = 1, alpha = 1;
    do {
      if (k == K_LOWER) upper = 0;
      else if (k == K_WORDISH) alpha = 0;
      i++;
    } while (i < len && (k = cls(s[i])) != K_OTHER);
    int wl = i - ws;
    if (!alpha || wl > FP_LONGEST_WORD) continue;
    int prev = ws > 0 ? s[ws - 1] : 32;
    int next = i < len ? s[i] : 32;
    int openDeco = prev == 91 || prev == 60 || prev == 40;
    int closeDeco = next == 93 || next == 62 || next == 41;
    if (wl == 1) {
      if (openDeco && closeDeco) {
        int l = letterLevel(s[ws]);
        if (l != L_NONE) return l;
      }
      continue;
    }
    if (upper || openDeco || closeDeco || next == 58 || (prev == 61 && levelKeyBefore(s, ws - 1))) {
      int l = wordLevelCi(s, ws, wl);
      if (l != L_NONE) return l;
    }
  }
  return L_NONE;
}

static inline int glogLevel(int c) { return c >= 0 && c < 128 ? GLOG_LEVEL[c] : L_NONE; }

static double clfTime(const uint8_t *s, int n) {
  int stop = n - 12 < 100 ? n - 12 : 100;
  for (int i = 1; i < stop; i++) {
    if (s[i] != 91 || s[i - 1] != 32) continue;
    double t = scanTimestamp(s, n, i + 1);
    if (t == t && C(s, n, t_end) == 93) return t;
    return NAN;
  }
  return NAN;
}

TL int p_from;
static void parsePlainAscii(const uint8_t *s, int n, Parsed *out) {
  double time = NAN;
  int level = L_NONE, from = 0;
  int c = C(s, n, 0);
  out->message = (Str){s, 0, n, SK_ESC};
  out->host.kind = SK_NONE;
  out->app.kind = SK_NONE;
  if (c == 91) {
    double t = scanTimestamp(s, n, 1);
    if (t == t && C(s, n, t_end) == 93) {
      time = t;
      from = t_end + 1;
    }
  } else if (isDig(c)) {
    double t = scanTimestamp(s, n, 0);
    if (t == t) {
      time = t;
      from = t_end;
    } else {
      double u = clfTime(s, n);
      if (u == u) {
        out->time = u;
        out->level = L_NONE;
        p_from = 0;
        return;
      }
    }
  } else if (cls(c) == K_UPPER || cls(c) == K_LOWER) {
    int g = glogLevel(c);
    if (g != L_NONE && C(s, n, 5) == 32) {
      double t = scanMonthDayClock(s, n, 1);
      if (t == t) {
        time = t;
        level = g;
      }
    }
    if (time != time) {
      double t = scanTimestamp(s, n, 0);
      if (t == t) {
        time = t;
        from = t_end;
      }
    }
  } else if (c == 58) {
    double u = clfTime(s, n);
    if (u == u) {
      out->time = u;
      out->level = L_NONE;
      p_from = 0;
      return;
    }
  }
  p_from = from;
  if (level == L_NONE) level = scanLevel(s, n, from);
  out->time = time;
  out->level = level;
}

/* parsePlain, where the windows it looks in (the time, 80 characters for a level, 100 for
   an access log's time) lie before the first non-ASCII character */
static void parsePlain(const uint8_t *s, int n, Parsed *out) {
  parsePlainAscii(s, n, out);
  if (g_high < n && (g_high < 160 || g_high < p_from + 96)) g_bail = 1;
}

/* ------------------------------------------------------------ detect (detect.ts) */

enum { W_PLAIN, W_JSON, W_LOGFMT, W_3164, W_5424 };

static int looksLikeLogfmt(const uint8_t *s, int n) {
  for (int i = 0; i < n; i++) {
    int c = s[i];
    if (c == 61) return i > 0;
    if (c <= 32 || c == 34) return 0;
  }
  return 0;
}

/* which fields writer; *counter: the parse counter the line counts in; g_bail when JS must take the line */
static int parseLine(const uint8_t *s, int n, int format, Parsed *p, int *counter) {
  *counter = FP_C_PLAIN;
  if (g_high < n && g_high < 16) {
    g_bail = 1; /* the format is picked by the first characters' positions */
    return W_PLAIN;
  }
  switch (format) {
    case FP_FORMAT_JSON:
      if (parseJson(s, n, p)) {
        *counter = FP_C_JSON;
        return W_JSON;
      }
      g_bail = 1; /* invalid JSON: JS decides what JSON.parse says */
      return W_PLAIN;
    case FP_FORMAT_LOGFMT:
      if (parseLogfmt(s, n, p)) {
        *counter = FP_C_LOGFMT;
        return W_LOGFMT;
      }
      *counter = FP_C_FALLBACK;
      parsePlain(s, n, p);
      return W_PLAIN;
    case FP_FORMAT_SYSLOG:
      if (scanPri(s, n) >= 0) {
        int i = p_end;
        if (isDig(C(s, n, i)) && (C(s, n, i + 1) == 32 || (isDig(C(s, n, i + 1)) && C(s, n, i + 2) == 32)) && parse5424(s, n, p)) {
          *counter = FP_C_SYSLOG5424;
          return W_5424;
        }
      }
      if (parse3164(s, n, p)) {
        *counter = FP_C_SYSLOG3164;
        return W_3164;
      }
      *counter = FP_C_FALLBACK;
      parsePlain(s, n, p);
      return W_PLAIN;
    case FP_FORMAT_PLAIN:
      parsePlain(s, n, p);
      return W_PLAIN;
    default: break;
  }
  int i = 0;
  while (C(s, n, i) == 32 || C(s, n, i) == 9) i++;
  int c = C(s, n, i);
  if (c == 123) {
    if (parseJson(s, n, p)) {
      *counter = FP_C_JSON;
      return W_JSON;
    }
    g_bail = 1;
    return W_PLAIN;
  }
  if (c == 60 && i == 0) {
    if (scanPri(s, n) >= 0) {
      int k = p_end;
      if (isDig(C(s, n, k)) && (C(s, n, k + 1) == 32 || (isDig(C(s, n, k + 1)) && C(s, n, k + 2) == 32)) && parse5424(s, n, p)) {
        *counter = FP_C_SYSLOG5424;
        return W_5424;
      }
      if (parse3164(s, n, p)) {
        *counter = FP_C_SYSLOG3164;
        return W_3164;
      }
      g_bail = 1; /* cannot happen with a PRI; JS decides */
      return W_PLAIN;
    }
    parsePlain(s, n, p);
    return W_PLAIN;
  }
  if (i == 0 && (isDig(c) || isLetter(c))) {
    if (isDig(c) ? (C(s, n, 4) == 45 && isDig(C(s, n, 3))) : C(s, n, 3) == 32) {
      if (parse3164(s, n, p)) {
        *counter = FP_C_SYSLOG3164;
        return W_3164;
      }
    }
  }
  if (looksLikeLogfmt(s, n)) {
    if (parseLogfmt(s, n, p)) {
      *counter = FP_C_LOGFMT;
      return W_LOGFMT;
    }
  }
  parsePlain(s, n, p);
  return W_PLAIN;
}

/* ------------------------------------------------------------ step */

/* Well-formed UTF-8 (Unicode Table 3-7: no overlongs, surrogates or code points past U+10FFFF) */
static int validUtf8(const uint8_t *s, int n) {
  int i = 0;
  while (i < n) {
    int c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    int need, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if (i + need >= n) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (int k = 2; k <= need; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xbf) return 0;
    i += need + 1;
  }
  return 1;
}

/* Render one parsed line as a record at w (the caller bails the line if w fills). */
static void putRecord(W *w, FpCall *c, const uint8_t *s, const Parsed *p, int kind, double time, size_t idx) {
  if (c->seqDigits > 0) {
    PUTS(w, "{\"seq\":");
    if (wroom(w, (size_t)c->seqDigits)) {
      memset(w->p, '0', (size_t)c->seqDigits);
      w->p += c->seqDigits;
    }
  }
  PUTS(w, ",\"time\":\"");
  putIso(w, time);
  if (c->midLen > 0) put(w, c->mid, c->midLen);
  if (p->host.kind != SK_NONE) {
    PUTS(w, ",\"host\":");
    putStr(w, &p->host);
  }
  if (p->app.kind != SK_NONE) {
    PUTS(w, ",\"app\":");
    putStr(w, &p->app);
  }
  assert(p->level >= 0 && p->level < FP_NLEVELS);
  put(w, LEVEL_MESSAGE[p->level], LEVEL_MESSAGE_LEN[p->level]);
  uint32_t m0 = (uint32_t)(w->p - c->out);
  putStr(w, &p->message);
  uint32_t m1 = (uint32_t)(w->p - c->out);
  if (kind == W_JSON) putJsonFields(w, s);
  else if (kind == W_LOGFMT) putLogfmtFields(w, s);
  else if (kind == W_3164) put3164Fields(w, s);
  else if (kind == W_5424) put5424Fields(w, s);
  else PUTS(w, ",\"fields\":{}}");
  if (w->full) return;
  assert(idx < c->recCap);
  c->msg[2 * idx] = m0;
  c->msg[2 * idx + 1] = m1;
  c->ends[idx] = (uint32_t)(w->p - c->out);
  if (c->seqDigits > 0) put1(w, '\n');
}

int fp_step(FpCall *c) {
  const uint8_t *region = c->region;
  size_t len = c->regionLen;
  size_t pos = c->pos, off = c->off, idx = c->idx;
  /* offsets are written as uint32 */
  size_t outCap = c->outCap > UINT32_MAX ? UINT32_MAX : c->outCap;
  c->lines = 0;
  c->overflows = 0;
  c->need = 0;
  memset(c->counted, 0, sizeof(c->counted));
  if (pos > len || off > outCap || idx > c->recCap || c->seqDigits < 0 || c->seqDigits > 32 || (region == NULL && len > 0) ||
      (c->mid == NULL && c->midLen > 0))
    return FP_STEP_EINVAL;
  int format = c->format;
  size_t maxLine = c->maxLine < FP_MAX_LINE ? c->maxLine : FP_MAX_LINE;
  g_now = c->now;
  g_utc = c->utc;
  int status = FP_STEP_DONE;
  while (pos < len) {
    const uint8_t *s = region + pos;
    const uint8_t *nl = memchr(s, '\n', len - pos);
    size_t lineEnd = nl == NULL ? len : (size_t)(nl - region);
    size_t next = nl == NULL ? len : lineEnd + 1;
    size_t le = lineEnd;
    if (le > pos && region[le - 1] == '\r') le--;
    /* complete (JS splits a last line without '\n' itself), not truncated, valid UTF-8 */
    int ok = nl != NULL && le - pos <= maxLine;
    int n = ok ? (int)(le - pos) : 0;
    if (ok) {
      uint64_t acc = 0;
      int k = 0;
      for (; k + 8 <= n; k += 8) {
        uint64_t w8;
        memcpy(&w8, s + k, 8);
        acc |= w8;
      }
      for (; k < n; k++) acc |= s[k];
      if ((acc & 0x8080808080808080ull) == 0) g_high = n;
      else {
        int k2 = 0;
        while (k2 < n && s[k2] < 0x80) k2++;
        g_high = k2;
        ok = validUtf8(s + k2, n - k2); /* invalid: JS repairs and counts it */
      }
    }
    if (ok && scratchFor((size_t)n) == NULL) ok = 0; /* out of memory here: JS takes the line */
    if (!ok) {
      c->bailStart = pos;
      c->bailEnd = next;
      pos = next;
      status = FP_STEP_BAIL;
      break;
    }
    size_t need = fp_line_budget((size_t)n, c->midLen, c->seqDigits);
    if ((!c->trustWriter && need > outCap - off) || idx >= c->recCap || c->out == NULL) {
      c->need = need;
      status = FP_STEP_ROOM;
      break;
    }
    g_bail = 0;
    Parsed p;
    int counter;
    int kind = parseLine(s, n, format, &p, &counter);
    double time = p.time == p.time ? p.time : g_now;
    /* before 1970 (only ever from `now`) or past 9999: JS */
    if (!(time >= 0 && time < 253402300800000.0)) g_bail = 1;
    if (!g_bail) {
      W w = {c->out + off, c->out + outCap, 0};
      putRecord(&w, c, s, &p, kind, time, idx);
      if (w.full) {
        c->overflows++;
        g_bail = 1;
      } else {
        assert((size_t)(w.p - (c->out + off)) <= need || c->trustWriter);
        off = (size_t)(w.p - c->out);
      }
    }
    if (g_bail) {
      /* the counters of a bailed line are JS's to count */
      c->bailStart = pos;
      c->bailEnd = next;
      pos = next;
      status = FP_STEP_BAIL;
      break;
    }
    c->times[idx] = time;
    c->levels[idx] = (uint8_t)p.level;
    c->counted[counter]++;
    c->lines++;
    idx++;
    pos = next;
  }
  c->pos = pos;
  c->off = off;
  c->idx = idx;
  return status;
}

size_t fp_count_newlines(const uint8_t *s, size_t n) {
  const uint8_t *e = s + n;
  size_t count = 0;
  while (s < e && (s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
    count++;
    s++;
  }
  return count;
}
