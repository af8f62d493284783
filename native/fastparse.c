/*
 * The parse workers' native fast path (src/parse/native.ts): runs of complete
 * lines in, finished wire records out, for the lines it can render exactly as
 * the TypeScript parsers and serializer do (src/parse/, core/record.ts).
 * Any line it is not sure of is handed back ("bail") and the worker parses it
 * in JS, so the JS code stays the definition and this is only a faster way to
 * the same bytes (test/native-parse.test.ts compares the two on every kind of
 * line the bench and the property tests produce).
 *
 * Handled: ASCII lines (string index == byte index, as the JS windows count)
 * in the formats auto, json, logfmt, plain and syslog, parsed as JSON, logfmt,
 * RFC 3164 and plain text. Bailed: non-ASCII or over-long lines, RFC 5424,
 * JSON the JS round trip would change (\u escapes, numbers that do not print
 * as written, duplicate or integer-like keys, "__proto__", the ECS `log`
 * object, docker's `log` with its '\n'), logfmt with repeated or
 * integer-like keys or a \u escape above ASCII, and local wall-clock times
 * when the process time zone is not UTC.
 *
 * Each parse thread has its own state (thread-local): the module is loaded
 * once per worker.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <math.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

/* Initial-exec TLS: a plain fs-relative load per access (the default model for a shared
   object calls __tls_get_addr on every access, which made the writer 3x slower). Only
   scalars and pointers are thread-local; the big scratch arrays are on the heap. */
#define TL static __thread __attribute__((tls_model("initial-exec")))

/* ------------------------------------------------------------ state */

enum { ST_POS, ST_OFF, ST_IDX, ST_BAIL_START, ST_BAIL_END, ST_NEED, ST_NOW, ST_FORMAT, ST_MAXLINE, ST_UTC, ST_SEQDIGITS,
       ST_C_JSON, ST_C_LOGFMT, ST_C_5424, ST_C_3164, ST_C_PLAIN, ST_C_FALLBACK, ST_LINES, ST_SIZE };
enum { F_AUTO, F_JSON, F_LOGFMT, F_SYSLOG, F_PLAIN };
enum { STEP_DONE = 0, STEP_BAIL = 1, STEP_ROOM = 2 };

TL uint8_t *g_out;
TL size_t g_outCap;
TL uint32_t *g_ends;
TL size_t g_endsLen;
TL uint32_t *g_msg;
TL double *g_times;
TL uint8_t *g_levels;
TL const uint8_t *g_mid;
TL size_t g_midLen;
TL double *g_st;

/* per line */
TL double g_now;
TL int g_utc;
TL int g_bail; /* set by any helper that meets what it must not decide */
/* Index of the line's first non-ASCII byte (n when none). Up to there a byte index is
   the JS string index; past it, UTF-16 and UTF-8 positions differ, so any decision the
   JS code makes by position or length there goes back to JS. */
TL int g_high;
TL uint8_t *g_scratch; /* logfmt decoded values */
TL size_t g_scratchCap;

/* ------------------------------------------------------------ chars */

static inline int C(const uint8_t *s, int n, int p) { return p >= 0 && p < n ? s[p] : -1; }
static inline int isDig(int c) { return c >= 48 && c <= 57; }
static inline int isLetter(int c) { return c >= 0 && (c | 0x20) >= 97 && (c | 0x20) <= 122; }
static inline int hasHigh(const uint8_t *s, int a, int b) {
  for (int i = a; i < b; i++)
    if (s[i] >= 0x80) return 1;
  return 0;
}

/* ------------------------------------------------------------ levels */

/* LEVELS order of core/record.ts; code = index + 1 */
enum { L_NONE, L_TRACE, L_DEBUG, L_INFO, L_NOTICE, L_WARN, L_ERROR, L_CRITICAL, L_ALERT, L_EMERGENCY };
static const char *LEVEL_MESSAGE[] = {
  ",\"message\":", ",\"level\":\"trace\",\"message\":", ",\"level\":\"debug\",\"message\":", ",\"level\":\"info\",\"message\":",
  ",\"level\":\"notice\",\"message\":", ",\"level\":\"warn\",\"message\":", ",\"level\":\"error\",\"message\":",
  ",\"level\":\"critical\",\"message\":", ",\"level\":\"alert\",\"message\":", ",\"level\":\"emergency\",\"message\":",
};
static size_t LEVEL_MESSAGE_LEN[10];

typedef struct { const char *w; int l; } Word;
static int WORD_LEN[64];
static const Word WORDS[] = {
  {"trace", L_TRACE}, {"trc", L_TRACE}, {"verbose", L_TRACE}, {"finest", L_TRACE}, {"finer", L_TRACE},
  {"debug", L_DEBUG}, {"dbg", L_DEBUG}, {"fine", L_DEBUG},
  {"info", L_INFO}, {"inf", L_INFO}, {"information", L_INFO}, {"informational", L_INFO},
  {"notice", L_NOTICE}, {"warn", L_WARN}, {"warning", L_WARN}, {"wrn", L_WARN},
  {"err", L_ERROR}, {"error", L_ERROR}, {"severe", L_ERROR},
  {"crit", L_CRITICAL}, {"critical", L_CRITICAL}, {"fatal", L_CRITICAL}, {"ftl", L_CRITICAL}, {"dpanic", L_CRITICAL},
  {"alert", L_ALERT}, {"emerg", L_EMERGENCY}, {"emergency", L_EMERGENCY}, {"panic", L_EMERGENCY}, {"pnc", L_EMERGENCY},
};
#define NWORDS ((int)(sizeof(WORDS) / sizeof(WORDS[0])))
static const int SYSLOG_SEVERITY[8] = {L_EMERGENCY, L_ALERT, L_CRITICAL, L_ERROR, L_WARN, L_NOTICE, L_INFO, L_DEBUG};
static const int DECADES[6] = {L_TRACE, L_DEBUG, L_INFO, L_WARN, L_ERROR, L_CRITICAL};

static int letterLevel(int c) {
  switch (c | 0x20) {
    case 't': case 'v': return L_TRACE;
    case 'd': return L_DEBUG;
    case 'i': return L_INFO;
    case 'w': return L_WARN;
    case 'e': return L_ERROR;
    case 'f': return L_CRITICAL;
  }
  return L_NONE;
}

/* the level word equal to s[a, a+n) ignoring ASCII case, or L_NONE */
static int wordLevelCi(const uint8_t *s, int a, int n) {
  for (int k = 0; k < NWORDS; k++) {
    if (WORD_LEN[k] != n) continue;
    const char *w = WORDS[k].w;
    int i = 0;
    while (i < n && (s[a + i] | 0x20) == (uint8_t)w[i]) i++;
    if (i == n) return WORDS[k].l;
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

TL int t_end;      /* timeScan.end */
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
/* Days since 1970-01-01 (H. Hinnant's days_from_civil); y >= 1968 here (validDateTime) */
static double daysFromCivil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  int era = y / 400;
  int yoe = y - era * 400;
  int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (double)era * 146097 + doe - 719468;
}
static int daysInMonth(int y, int m) {
  if (m == 2) return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28;
  return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
}
static int validDateTime(int y, int mo, int d, int h, int mi, int sec) {
  return y >= 1969 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 60;
}
static double utcMs(int y, int mo, int d, int h, int mi, int sec, int ms) {
  return ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000.0 + ms;
}
/* Local wall time: only decided here when the process zone is UTC; else the line goes to JS. */
static double localMs(int y, int mo, int d, int h, int mi, int sec, int ms) {
  if (!g_utc) g_bail = 1;
  return utcMs(y, mo, d, h, mi, sec, ms);
}
static double inRange(double ms) { return ms >= 0 && ms <= MAX_MS ? ms : NAN; }

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
static const char *MONTHS = "janfebmaraprmayjunjulaugsepoctnovdec";
static const char *WEEKDAYS = "montuewedthufrisatsun";
static int month3(const uint8_t *s, int n, int p) {
  int k = word3(s, n, p);
  if (k < 0) return 0;
  for (int i = 0; i < 12; i++) {
    int m = ((uint8_t)MONTHS[3 * i] << 16) | ((uint8_t)MONTHS[3 * i + 1] << 8) | (uint8_t)MONTHS[3 * i + 2];
    if (m == k) return i + 1;
  }
  return 0;
}
static int isWeekday(int k) {
  if (k < 0) return 0;
  for (int i = 0; i < 7; i++) {
    int w = ((uint8_t)WEEKDAYS[3 * i] << 16) | ((uint8_t)WEEKDAYS[3 * i + 1] << 8) | (uint8_t)WEEKDAYS[3 * i + 2];
    if (w == k) return 1;
  }
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

/* ------------------------------------------------------------ output */

TL uint8_t *o; /* write position in g_out */

static inline void put(const void *p, size_t n) {
  memcpy(o, p, n);
  o += n;
}
static inline void putc1(uint8_t c) { *o++ = c; }
#define PUTS(lit) put(lit, sizeof(lit) - 1)

static const char HEX[] = "0123456789abcdef";
/* 0: as is; 1: needs an escape (JSON.stringify of an ASCII string) */
static uint8_t NEEDS_ESC[256];

/* JSON string content of ASCII bytes s[a, b), as JSON.stringify escapes it (no quotes) */
static void putEscaped(const uint8_t *s, int a, int b) {
  int run = a;
  for (int i = a; i < b; i++) {
    uint8_t c = s[i];
    if (!NEEDS_ESC[c]) continue;
    if (i > run) put(s + run, i - run);
    run = i + 1;
    *o++ = '\\';
    switch (c) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case 8: *o++ = 'b'; break;
      case 9: *o++ = 't'; break;
      case 10: *o++ = 'n'; break;
      case 12: *o++ = 'f'; break;
      case 13: *o++ = 'r'; break;
      default: *o++ = 'u'; *o++ = '0'; *o++ = '0'; *o++ = HEX[c >> 4]; *o++ = HEX[c & 15];
    }
  }
  if (b > run) put(s + run, b - run);
}

/* JSON string content from a JSON source (validated, no \u): as is, but "\/" is written "/" (the JS round trip drops that escape) */
static void putJsonContent(const uint8_t *s, int a, int b) {
  int run = a;
  for (int i = a; i < b; i++) {
    if (s[i] != '\\') continue;
    if (s[i + 1] == '/') {
      if (i > run) put(s + run, i - run);
      *o++ = '/';
      run = i + 2;
    }
    i++;
  }
  if (b > run) put(s + run, b - run);
}

static const char P2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

static inline void put2(int v) {
  *o++ = P2[2 * v];
  *o++ = P2[2 * v + 1];
}

/* `YYYY-MM-DDT` of the last day written (a log's times fall on few days) */
TL int64_t iso_day = INT64_MIN;
TL char iso_date[11];

/* isoTime (core/record.ts) for ms in 1970..9999 */
static void putIso(double ms) {
  int64_t t = (int64_t)floor(ms);
  int64_t days = t / 86400000; /* t >= 0 */
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
    uint8_t *keep = o;
    o = (uint8_t *)iso_date;
    put2(y / 100);
    put2(y % 100);
    *o++ = '-';
    put2(m);
    *o++ = '-';
    put2(d);
    *o++ = 'T';
    o = keep;
    iso_day = days;
  }
  memcpy(o, iso_date, 11);
  o += 11;
  int hh = rem / 3600000, mi = rem / 60000 % 60, ss = rem / 1000 % 60, mss = rem % 1000;
  put2(hh);
  *o++ = ':';
  put2(mi);
  *o++ = ':';
  put2(ss);
  *o++ = '.';
  *o++ = '0' + mss / 100;
  put2(mss % 100);
  *o++ = 'Z';
}

/* ------------------------------------------------------------ parsed line */

enum { SK_NONE, SK_ESC, SK_JSON, SK_LIT };
typedef struct { const uint8_t *p; int a, b; int kind; } Str;

typedef struct {
  double time; /* NAN: none */
  int level;
  Str message;
  Str host, app;
  int fmt; /* which fields writer */
} Parsed;

static void putStr(const Str *s) {
  *o++ = '"';
  if (s->kind == SK_ESC) putEscaped(s->p, s->a, s->b);
  else if (s->kind == SK_JSON) putJsonContent(s->p, s->a, s->b);
  else put(s->p + s->a, s->b - s->a);
  *o++ = '"';
}

/* ------------------------------------------------------------ keys (keys.ts) */

enum { R_NONE = -1, R_MESSAGE = 0, R_LEVEL = 1, R_TIME = 2, R_HOST = 3, R_APP = 4 };
typedef struct { const char *k; int role, rank; } RoleKey;
static int ROLE_KEY_LEN[64];
static const RoleKey ROLE_KEYS[] = {
  {"msg", R_MESSAGE, 0}, {"message", R_MESSAGE, 1}, {"log", R_MESSAGE, 2}, {"text", R_MESSAGE, 3}, {"MESSAGE", R_MESSAGE, 4},
  {"level", R_LEVEL, 0}, {"lvl", R_LEVEL, 1}, {"severity", R_LEVEL, 2}, {"log.level", R_LEVEL, 3}, {"loglevel", R_LEVEL, 4},
  {"levelname", R_LEVEL, 5}, {"PRIORITY", R_LEVEL, 6},
  {"time", R_TIME, 0}, {"ts", R_TIME, 1}, {"timestamp", R_TIME, 2}, {"@timestamp", R_TIME, 3}, {"t", R_TIME, 4},
  {"__REALTIME_TIMESTAMP", R_TIME, 5},
  {"host", R_HOST, 0}, {"hostname", R_HOST, 1}, {"_HOSTNAME", R_HOST, 2},
  {"app", R_APP, 0}, {"service", R_APP, 1}, {"SYSLOG_IDENTIFIER", R_APP, 2},
};
#define NROLEKEYS ((int)(sizeof(ROLE_KEYS) / sizeof(ROLE_KEYS[0])))

/* role * 16 + rank of the key s[a, b), or -1 */
static int roleOf(const uint8_t *s, int a, int b) {
  int n = b - a;
  if (n == 0 || n > 20) return -1;
  for (int k = 0; k < NROLEKEYS; k++) {
    const char *w = ROLE_KEYS[k].k;
    if (ROLE_KEY_LEN[k] == n && (uint8_t)w[0] == s[a] && memcmp(w, s + a, n) == 0) return ROLE_KEYS[k].role * 16 + ROLE_KEYS[k].rank;
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

enum { J_STR, J_NUM, J_TRUE, J_FALSE, J_NULL, J_OBJ, J_ARR };
typedef struct { int ks, ke, vs, ve, type, esc, canon; uint32_t h; } Member;
#define MAX_MEMBERS 128
TL Member *g_mem;  /* MAX_MEMBERS */
TL int *g_order;   /* MAX_MEMBERS * 2 */

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
      if (!(e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't')) return -1; /* \u: bail */
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
  else if (intZero && !hasFrac && neg) c = 0;              /* -0 prints 0 */
  else if (intZero && hasFrac && lead >= 6) c = 0;         /* below 1e-6 prints with an exponent */
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
    if (kn >= 64) return -1;
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

/* a validated JSON value, minified as JSON.stringify(JSON.parse(...)) writes it */
static void putJsonMin(const uint8_t *s, int a, int b) {
  int i = a;
  while (i < b) {
    int c = s[i];
    if (c == '"') {
      int j = i + 1;
      while (s[j] != '"') j += s[j] == '\\' ? 2 : 1;
      *o++ = '"';
      putJsonContent(s, i + 1, j);
      *o++ = '"';
      i = j + 1;
    } else if (c == 32 || c == 9 || c == 10 || c == 13) {
      i++;
    } else {
      *o++ = (uint8_t)c;
      i++;
    }
  }
}

TL int g_nfields;   /* fields to write, as member indices in g_order */

/* parseJson: 1 parsed, 0 not JSON for the JS parser either is unknown -> bail, set g_bail */
static int parseJson(const uint8_t *s, int n, Parsed *out) {
  int i = skipWs(s, n, 0);
  if (C(s, n, i) != '{') return 0; /* caller handles: not JSON */
  int nm = 0;
  i = skipWs(s, n, i + 1);
  if (C(s, n, i) != '}') {
    for (;;) {
      if (C(s, n, i) != '"' || nm >= MAX_MEMBERS) goto bail;
      Member *m = &g_mem[nm];
      int kesc;
      int ke = jString(s, n, i, &kesc);
      if (ke < 0 || kesc || awkwardKey(s, i + 1, ke - 1)) goto bail;
      m->ks = i + 1;
      m->ke = ke - 1;
      m->h = keyHash(s, m->ks, m->ke);
      for (int k = 0; k < nm; k++)
        if (g_mem[k].h == m->h && g_mem[k].ke - g_mem[k].ks == m->ke - m->ks && memcmp(s + g_mem[k].ks, s + m->ks, m->ke - m->ks) == 0) goto bail;
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

  int nf = 0;
  int mKey = -1, mRank = 99, lKey = -1, lRank = 99, tKey = -1, tRank = 99, hKey = -1, hRank = 99, aKey = -1, aRank = 99;
  out->time = NAN;
  out->level = L_NONE;
  out->host.kind = SK_NONE;
  out->app.kind = SK_NONE;
  for (int k = 0; k < nm; k++) {
    Member *m = &g_mem[k];
    int r = roleOf(s, m->ks, m->ke);
    if (r < 0) {
      g_order[nf++] = k;
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
          if (mKey >= 0) g_order[nf++] = mKey;
          mKey = k;
          mRank = rank;
        } else g_order[nf++] = k;
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
          if (lKey >= 0) g_order[nf++] = lKey;
          out->level = l;
          lKey = k;
          lRank = rank;
        } else g_order[nf++] = k;
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
          if (tKey >= 0) g_order[nf++] = tKey;
          out->time = t;
          tKey = k;
          tRank = rank;
        } else g_order[nf++] = k;
        break;
      }
      case R_HOST:
        if (m->type == J_STR && m->ve - m->vs > 2 && rank < hRank) {
          if (hKey >= 0) g_order[nf++] = hKey;
          hKey = k;
          hRank = rank;
        } else g_order[nf++] = k;
        break;
      default:
        if (m->type == J_STR && m->ve - m->vs > 2 && rank < aRank) {
          if (aKey >= 0) g_order[nf++] = aKey;
          aKey = k;
          aRank = rank;
        } else g_order[nf++] = k;
        break;
    }
  }
  /* every number that is written must print as written */
  for (int k = 0; k < nf; k++)
    if (g_mem[g_order[k]].type == J_NUM && !g_mem[g_order[k]].canon) goto bail;
  g_nfields = nf;
  if (mKey >= 0) {
    Member *m = &g_mem[mKey];
    if (m->type == J_STR) out->message = (Str){s, m->vs + 1, m->ve - 1, SK_JSON};
    else out->message = (Str){s, m->vs, m->ve, SK_LIT};
  } else {
    out->message = (Str){s, 0, n, SK_ESC};
  }
  if (hKey >= 0) out->host = (Str){s, g_mem[hKey].vs + 1, g_mem[hKey].ve - 1, SK_JSON};
  if (aKey >= 0) out->app = (Str){s, g_mem[aKey].vs + 1, g_mem[aKey].ve - 1, SK_JSON};
  return 1;
bail:
  g_bail = 1;
  return 1;
}

static void putJsonFields(const uint8_t *s) {
  if (g_nfields == 0) {
    PUTS(",\"fields\":{}}");
    return;
  }
  PUTS(",\"fields\":{");
  for (int k = 0; k < g_nfields; k++) {
    Member *m = &g_mem[g_order[k]];
    if (k > 0) *o++ = ',';
    *o++ = '"';
    put(s + m->ks, m->ke - m->ks); /* keys have no escapes here */
    *o++ = '"';
    *o++ = ':';
    putJsonMin(s, m->vs, m->ve);
  }
  PUTS("}}");
}

/* ------------------------------------------------------------ logfmt (logfmt.ts) */

#define MAX_TOKENS 256
typedef struct { int ks, ke; int bare; const uint8_t *vp; int va, vb; uint32_t h; } Token;
TL Token *g_tok; /* MAX_TOKENS */
TL int g_ntok;
TL int g_skip[5];

TL int q_end;
/* scanQuoted: the value as a pointer range (into the line, or decoded into scratch) */
static void scanQuoted(const uint8_t *s, int n, int q, const uint8_t **vp, int *va, int *vb, uint8_t **scr) {
  int start = q + 1;
  const uint8_t *close = start < n ? memchr(s + start, '"', n - start) : NULL;
  const uint8_t *bs = close != NULL ? memchr(s + start, '\\', close - (s + start)) : (uint8_t *)1;
  if (close != NULL && bs == NULL) {
    q_end = (int)(close - s) + 1;
    *vp = s;
    *va = start;
    *vb = (int)(close - s);
    return;
  }
  uint8_t *w = *scr;
  uint8_t *w0 = w;
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
    memcpy(w, s + run, i - run);
    w += i - run;
    *w++ = (uint8_t)rep;
    i += skip;
    run = i;
  }
  q_end = n;
done:
  memcpy(w, s + run, i - run);
  w += i - run;
  *vp = w0;
  *va = 0;
  *vb = (int)(w - w0);
  *scr = w;
}

/* 1: logfmt (tokens in g_tok), 0: not logfmt */
static int parseLogfmt(const uint8_t *s, int n, Parsed *out) {
  int nt = 0, pairs = 0, hasMsg = 0, i = 0;
  uint8_t *scr = g_scratch;
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
          const uint8_t *vp;
          int va, vb;
          uint8_t *tmp = scr; /* decoded and thrown away */
          scanQuoted(s, n, i, &vp, &va, &vb, &tmp);
          i = q_end;
        } else i++;
      }
      continue;
    }
    if (nt >= MAX_TOKENS) {
      g_bail = 1;
      return 1;
    }
    Token *t = &g_tok[nt];
    t->ks = ks;
    t->ke = i;
    if (i < n && c == 61) {
      i++;
      t->bare = 0;
      if (i < n && s[i] == 34) {
        scanQuoted(s, n, i, &t->vp, &t->va, &t->vb, &scr);
        i = q_end;
      } else {
        int vs = i;
        while (i < n && s[i] > 32) i++;
        t->vp = s;
        t->va = vs;
        t->vb = i;
      }
      pairs++;
      int kl = t->ke - t->ks;
      if ((kl == 3 && memcmp(s + ks, "msg", 3) == 0) || (kl == 7 && memcmp(s + ks, "message", 7) == 0)) hasMsg = 1;
    } else {
      t->bare = 1;
    }
    nt++;
  }
  if (pairs < 2 && !hasMsg) return 0;
  /* keys the fields object would reorder or merge: to JS */
  for (int j = 0; j < nt; j++) {
    if (awkwardKey(s, g_tok[j].ks, g_tok[j].ke)) {
      g_bail = 1;
      return 1;
    }
    g_tok[j].h = keyHash(s, g_tok[j].ks, g_tok[j].ke);
    for (int k = 0; k < j; k++)
      if (g_tok[k].h == g_tok[j].h && g_tok[k].ke - g_tok[k].ks == g_tok[j].ke - g_tok[j].ks && memcmp(s + g_tok[k].ks, s + g_tok[j].ks, g_tok[j].ke - g_tok[j].ks) == 0) {
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
    Token *t = &g_tok[j];
    int r = roleOf(s, t->ks, t->ke);
    if (r < 0 || t->bare) continue;
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
          if (hasHigh(t->vp, t->va, t->vb)) {
            g_bail = 1;
            return 1;
          }
          int l = levelOfString(t->vp, t->va, t->vb);
          if (l != L_NONE) {
            lr = rank;
            li = j;
            out->level = l;
          }
        }
        break;
      case R_TIME:
        if (rank < tr) {
          if (hasHigh(t->vp, t->va, t->vb)) {
            g_bail = 1;
            return 1;
          }
          double tm = timeOfString(t->vp, t->va, t->vb);
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
  out->message = mi >= 0 ? (Str){g_tok[mi].vp, g_tok[mi].va, g_tok[mi].vb, SK_ESC} : (Str){s, 0, n, SK_ESC};
  if (hi >= 0) out->host = (Str){g_tok[hi].vp, g_tok[hi].va, g_tok[hi].vb, SK_ESC};
  if (ai >= 0) out->app = (Str){g_tok[ai].vp, g_tok[ai].va, g_tok[ai].vb, SK_ESC};
  return 1;
}

static void putLogfmtFields(const uint8_t *s) {
  int first = 1;
  for (int j = 0; j < g_ntok; j++) {
    if (j == g_skip[0] || j == g_skip[1] || j == g_skip[2] || j == g_skip[3] || j == g_skip[4]) continue;
    Token *t = &g_tok[j];
    if (first) PUTS(",\"fields\":{");
    else *o++ = ',';
    first = 0;
    *o++ = '"';
    putEscaped(s, t->ks, t->ke);
    *o++ = '"';
    *o++ = ':';
    if (t->bare) PUTS("true");
    else {
      *o++ = '"';
      putEscaped(t->vp, t->va, t->vb);
      *o++ = '"';
    }
  }
  if (first) PUTS(",\"fields\":{}}");
  else PUTS("}}");
}

/* ------------------------------------------------------------ syslog (syslog-common.ts, syslog3164.ts) */

static const char *FACILITIES[24] = {
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
  "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

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
static int scanTag(const uint8_t *s, int n, int a, int e) {
  (void)n;
  if (e - a < 2 || e - a > 128) return 0;
  int end = e;
  int colon = s[end - 1] == 58;
  if (colon) end--;
  if (end - 1 >= a && s[end - 1] == 93) {
    int open = -1;
    for (int k = end - 1; k >= 0; k--)
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
  if (t1e > t1s && scanTag(s, n, t1s, t1e)) {
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
    if (t2e > t2s && scanTag(s, n, t2s, t2e)) {
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

static void put3164Fields(const uint8_t *s) {
  if (s_pri < 0 && s_pidA < 0) {
    PUTS(",\"fields\":{}}");
    return;
  }
  PUTS(",\"fields\":{");
  if (s_pri >= 0) {
    PUTS("\"facility\":\"");
    const char *f = FACILITIES[s_pri >> 3];
    put(f, strlen(f));
    *o++ = '"';
  }
  if (s_pidA >= 0) {
    if (s_pri >= 0) *o++ = ',';
    PUTS("\"pid\":\"");
    put(s + s_pidA, s_pidB - s_pidA);
    *o++ = '"';
  }
  PUTS("}}");
}

/* ------------------------------------------------------------ RFC 5424 (syslog5424.ts) */

#define MAX_SD 16
#define MAX_SDP 64
typedef struct { int a, b, p0, pn; } SdElem;   /* id [a, b), params p0 .. p0 + pn */
typedef struct { int na, nb, va, vb; } SdParam; /* name, value (no escapes) */
TL SdElem *g_sde;
TL SdParam *g_sdp;
TL int r_nsd, r_hasSd, r_procA, r_procB, r_msgidA, r_msgidB, r_pri;

static int sameBytes(const uint8_t *s, int a, int b, int c, int d) { return b - a == d - c && memcmp(s + a, s + c, b - a) == 0; }

/* scanSd: elements into g_sde/g_sdp; returns the end, *bad the start of a bad element (-1: none); bail on what JS would merge or unescape */
static int scanSd(const uint8_t *s, int n, int i, int *bad) {
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
    SdElem *e = &g_sde[ne];
    e->a = i;
    e->b = j;
    e->p0 = np;
    e->pn = 0;
    if (awkwardKey(s, i, j)) g_bail = 1;
    for (int k = 0; k < ne; k++)
      if (sameBytes(s, g_sde[k].a, g_sde[k].b, i, j)) g_bail = 1; /* merged by JS */
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
        if (sameBytes(s, g_sdp[x].na, g_sdp[x].nb, i, k)) g_bail = 1; /* repeated: an array in JS */
      g_sdp[np++] = (SdParam){i, k, v, q};
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

static void put5424Fields(const uint8_t *s) {
  PUTS(",\"fields\":{\"facility\":\"");
  const char *f = FACILITIES[r_pri >> 3];
  put(f, strlen(f));
  *o++ = '"';
  if (r_procA >= 0) {
    PUTS(",\"procid\":\"");
    putEscaped(s, r_procA, r_procB);
    *o++ = '"';
  }
  if (r_msgidA >= 0) {
    PUTS(",\"msgid\":\"");
    putEscaped(s, r_msgidA, r_msgidB);
    *o++ = '"';
  }
  if (r_hasSd) {
    PUTS(",\"sd\":{");
    for (int e = 0; e < r_nsd; e++) {
      SdElem *el = &g_sde[e];
      if (e > 0) *o++ = ',';
      *o++ = '"';
      putEscaped(s, el->a, el->b);
      PUTS("\":{");
      for (int k = 0; k < el->pn; k++) {
        SdParam *p = &g_sdp[el->p0 + k];
        if (k > 0) *o++ = ',';
        *o++ = '"';
        putEscaped(s, p->na, p->nb);
        PUTS("\":\"");
        putEscaped(s, p->va, p->vb);
        *o++ = '"';
      }
      *o++ = '}';
    }
    *o++ = '}';
  }
  PUTS("}}");
}

/* ------------------------------------------------------------ plain (plain.ts) */

enum { K_OTHER, K_UPPER, K_LOWER, K_WORDISH };
static uint8_t CLASS[128];
static inline int cls(int c) { return c >= 0 && c < 128 ? CLASS[c] : K_OTHER; }

static int endsWithCi(const uint8_t *s, int e, const char *key) {
  int n = (int)strlen(key);
  if (e < n) return 0;
  for (int i = 0; i < n; i++)
    if ((s[e - n + i] | 0x20) != (uint8_t)key[i]) return 0;
  return 1;
}

static int scanLevel(const uint8_t *s, int len, int from) {
  int stop = len < from + 80 ? len : from + 80;
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
    if (!alpha || wl > 13) continue;
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
    if (upper || openDeco || closeDeco || next == 58 ||
        (prev == 61 && (endsWithCi(s, ws - 1, "level") || endsWithCi(s, ws - 1, "lvl") || endsWithCi(s, ws - 1, "severity")))) {
      int l = wordLevelCi(s, ws, wl);
      if (l != L_NONE) return l;
    }
  }
  return L_NONE;
}

static int glogLevel(int c) { return c == 73 ? L_INFO : c == 87 ? L_WARN : c == 69 ? L_ERROR : c == 70 ? L_CRITICAL : L_NONE; }

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

/* which fields writer; counters in g_st; g_bail when JS must take the line */
static int parseLine(const uint8_t *s, int n, int format, Parsed *p) {
  if (g_high < n && g_high < 16) {
    g_bail = 1; /* the format is picked by the first characters' positions */
    return W_PLAIN;
  }
  switch (format) {
    case F_JSON:
      if (parseJson(s, n, p)) {
        g_st[ST_C_JSON]++;
        return W_JSON;
      }
      g_bail = 1; /* invalid JSON: JS decides what JSON.parse says */
      return W_PLAIN;
    case F_LOGFMT:
      if (parseLogfmt(s, n, p)) {
        g_st[ST_C_LOGFMT]++;
        return W_LOGFMT;
      }
      g_st[ST_C_FALLBACK]++;
      parsePlain(s, n, p);
      return W_PLAIN;
    case F_SYSLOG:
      if (scanPri(s, n) >= 0) {
        int i = p_end;
        if (isDig(C(s, n, i)) && (C(s, n, i + 1) == 32 || (isDig(C(s, n, i + 1)) && C(s, n, i + 2) == 32)) && parse5424(s, n, p)) {
          g_st[ST_C_5424]++;
          return W_5424;
        }
      }
      if (parse3164(s, n, p)) {
        g_st[ST_C_3164]++;
        return W_3164;
      }
      g_st[ST_C_FALLBACK]++;
      parsePlain(s, n, p);
      return W_PLAIN;
    case F_PLAIN:
      g_st[ST_C_PLAIN]++;
      parsePlain(s, n, p);
      return W_PLAIN;
    default: break;
  }
  int i = 0;
  while (C(s, n, i) == 32 || C(s, n, i) == 9) i++;
  int c = C(s, n, i);
  if (c == 123) {
    if (parseJson(s, n, p)) {
      g_st[ST_C_JSON]++;
      return W_JSON;
    }
    g_bail = 1;
    return W_PLAIN;
  }
  if (c == 60 && i == 0) {
    if (scanPri(s, n) >= 0) {
      int k = p_end;
      if (isDig(C(s, n, k)) && (C(s, n, k + 1) == 32 || (isDig(C(s, n, k + 1)) && C(s, n, k + 2) == 32)) && parse5424(s, n, p)) {
        g_st[ST_C_5424]++;
        return W_5424;
      }
      if (parse3164(s, n, p)) {
        g_st[ST_C_3164]++;
        return W_3164;
      }
      g_bail = 1; /* cannot happen with a PRI; JS decides */
      return W_PLAIN;
    }
    g_st[ST_C_PLAIN]++;
    parsePlain(s, n, p);
    return W_PLAIN;
  }
  if (i == 0 && (isDig(c) || isLetter(c))) {
    if (isDig(c) ? (C(s, n, 4) == 45 && isDig(C(s, n, 3))) : C(s, n, 3) == 32) {
      if (parse3164(s, n, p)) {
        g_st[ST_C_3164]++;
        return W_3164;
      }
    }
  }
  if (looksLikeLogfmt(s, n)) {
    if (parseLogfmt(s, n, p)) {
      g_st[ST_C_LOGFMT]++;
      return W_LOGFMT;
    }
  }
  g_st[ST_C_PLAIN]++;
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

/* Render the lines of region[pos, len) until a line must go to JS or the output is full. */
static int step(const uint8_t *region, size_t len) {
  double *st = g_st;
  size_t pos = (size_t)st[ST_POS];
  size_t off = (size_t)st[ST_OFF];
  size_t idx = (size_t)st[ST_IDX];
  int format = (int)st[ST_FORMAT];
  double ml = st[ST_MAXLINE];
  /* longer lines go to JS (n stays an int, 16 * n a size_t that cannot wrap) */
  size_t maxLine = ml >= 0 && ml < (double)(INT_MAX / 32) ? (size_t)ml : (size_t)(INT_MAX / 32);
  int digits = (int)st[ST_SEQDIGITS];
  g_now = st[ST_NOW];
  g_utc = (int)st[ST_UTC];
  int status = STEP_DONE;
  double saved[ST_SIZE];
  while (pos < len) {
    const uint8_t *s = region + pos;
    const uint8_t *nl = memchr(s, '\n', len - pos);
    size_t lineEnd = nl == NULL ? len : (size_t)(nl - region);
    size_t next = nl == NULL ? len : lineEnd + 1;
    size_t le = lineEnd;
    if (le > pos && region[le - 1] == '\r') le--;
    int n = (int)(le - pos);
    /* ASCII only, and not truncated */
    int ascii = nl != NULL && le - pos <= maxLine;
    if (ascii) {
      uint64_t acc = 0;
      int k = 0;
      for (; k + 8 <= n; k += 8) {
        uint64_t w;
        memcpy(&w, s + k, 8);
        acc |= w;
      }
      for (; k < n; k++) acc |= s[k];
      if ((acc & 0x8080808080808080ull) == 0) g_high = n;
      else {
        int k2 = 0;
        while (s[k2] < 0x80) k2++;
        g_high = k2;
        ascii = validUtf8(s + k2, n - k2); /* invalid: JS repairs and counts it */
      }
    }
    if (ascii && g_scratchCap < (size_t)n + 16) {
      free(g_scratch);
      g_scratchCap = (size_t)n * 2 + 256;
      g_scratch = malloc(g_scratchCap);
      if (g_scratch == NULL) {
        g_scratchCap = 0;
        ascii = 0; /* out of memory here: JS takes the line */
      }
    }
    if (!ascii) {
      st[ST_BAIL_START] = (double)pos;
      st[ST_BAIL_END] = (double)next;
      pos = next;
      status = STEP_BAIL;
      break;
    }
    size_t need = (size_t)digits + 8 + 256 + g_midLen + 16 * (size_t)n;
    if (off + need > g_outCap || idx >= g_endsLen) {
      st[ST_NEED] = (double)need;
      status = STEP_ROOM;
      break;
    }
    memcpy(saved, st, sizeof(saved));
    g_bail = 0;
    Parsed p;
    int w = parseLine(s, n, format, &p);
    double time = p.time == p.time ? p.time : g_now;
    /* before 1970 (only ever from `now`) or past 9999: JS */
    if (!(time >= 0 && time < 253402300800000.0)) g_bail = 1;
    if (g_bail) {
      memcpy(st, saved, sizeof(saved)); /* the counters of a bailed line are JS's to count */
      st[ST_BAIL_START] = (double)pos;
      st[ST_BAIL_END] = (double)next;
      pos = next;
      status = STEP_BAIL;
      break;
    }
    o = g_out + off;
    if (digits > 0) {
      PUTS("{\"seq\":");
      memset(o, '0', digits);
      o += digits;
    }
    PUTS(",\"time\":\"");
    putIso(time);
    put(g_mid, g_midLen);
    if (p.host.kind != SK_NONE) {
      PUTS(",\"host\":");
      putStr(&p.host);
    }
    if (p.app.kind != SK_NONE) {
      PUTS(",\"app\":");
      putStr(&p.app);
    }
    put(LEVEL_MESSAGE[p.level], LEVEL_MESSAGE_LEN[p.level]);
    g_msg[2 * idx] = (uint32_t)(o - g_out);
    putStr(&p.message);
    g_msg[2 * idx + 1] = (uint32_t)(o - g_out);
    if (w == W_JSON) putJsonFields(s);
    else if (w == W_LOGFMT) putLogfmtFields(s);
    else if (w == W_3164) put3164Fields(s);
    else if (w == W_5424) put5424Fields(s);
    else PUTS(",\"fields\":{}}");
    g_ends[idx] = (uint32_t)(o - g_out);
    if (digits > 0) *o++ = '\n';
    g_times[idx] = time;
    g_levels[idx] = (uint8_t)p.level;
    off = (size_t)(o - g_out);
    idx++;
    st[ST_LINES]++;
    pos = next;
  }
  st[ST_POS] = (double)pos;
  st[ST_OFF] = (double)off;
  st[ST_IDX] = (double)idx;
  return status;
}

/* ------------------------------------------------------------ N-API */

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  return napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) == napi_ok && t == want;
}

static napi_value throwMsg(napi_env env, const char *m) {
  napi_throw_error(env, "SLUICE_ERR_NATIVE_ARGS", m);
  return NULL;
}

static void freeScratchTables(void) {
  free(g_mem);
  free(g_order);
  free(g_tok);
  free(g_sde);
  free(g_sdp);
  g_mem = NULL;
  g_order = NULL;
  g_tok = NULL;
  g_sde = NULL;
  g_sdp = NULL;
}

/* bind(out, ends, msg, times, levels, mid, st): every argument is checked before any is kept */
static napi_value Bind(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 7) return throwMsg(env, "bind: 7 arguments");
  void *out, *ends, *msg, *times, *levels, *mid, *stp;
  size_t outN, endsN, msgN, timesN, levelsN, midN, stN;
  if (!typed(env, a[0], napi_uint8_array, &out, &outN) || outN > UINT32_MAX) return throwMsg(env, "bind: out (a Uint8Array under 4 GiB)");
  if (!typed(env, a[1], napi_uint32_array, &ends, &endsN)) return throwMsg(env, "bind: ends (a Uint32Array)");
  if (!typed(env, a[2], napi_uint32_array, &msg, &msgN) || msgN < 2 * endsN) return throwMsg(env, "bind: msg (a Uint32Array, twice ends)");
  if (!typed(env, a[3], napi_float64_array, &times, &timesN) || timesN < endsN) return throwMsg(env, "bind: times (a Float64Array, as long as ends)");
  if (!typed(env, a[4], napi_uint8_array, &levels, &levelsN) || levelsN < endsN) return throwMsg(env, "bind: levels (a Uint8Array, as long as ends)");
  if (!typed(env, a[5], napi_uint8_array, &mid, &midN)) return throwMsg(env, "bind: mid (a Uint8Array)");
  if (!typed(env, a[6], napi_float64_array, &stp, &stN) || stN < ST_SIZE) return throwMsg(env, "bind: st (a Float64Array of stateSize)");
  if (g_mem == NULL) {
    g_mem = malloc(sizeof(Member) * MAX_MEMBERS);
    g_order = malloc(sizeof(int) * MAX_MEMBERS * 2);
    g_tok = malloc(sizeof(Token) * MAX_TOKENS);
    g_sde = malloc(sizeof(SdElem) * MAX_SD);
    g_sdp = malloc(sizeof(SdParam) * MAX_SDP);
    if (g_mem == NULL || g_order == NULL || g_tok == NULL || g_sde == NULL || g_sdp == NULL) {
      freeScratchTables();
      g_st = NULL;
      return throwMsg(env, "bind: out of memory");
    }
  }
  g_out = out;
  g_outCap = outN;
  g_ends = ends;
  g_endsLen = endsN;
  g_msg = msg;
  g_times = times;
  g_levels = levels;
  g_mid = mid;
  g_midLen = midN;
  g_st = stp;
  return NULL;
}

/* step(region): 0 done, 1 a line for JS, 2 more room needed */
static napi_value Step(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  void *p;
  size_t n;
  if (argc < 1 || !typed(env, a[0], napi_uint8_array, &p, &n)) return throwMsg(env, "step: region (a Uint8Array)");
  if (g_st == NULL) return throwMsg(env, "step: not bound");
  int r = step(p, n);
  napi_value out;
  napi_create_int32(env, r, &out);
  return out;
}

/* count(bytes): the number of '\n' */
static napi_value Count(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  void *p;
  size_t n;
  if (argc < 1 || !typed(env, a[0], napi_uint8_array, &p, &n)) return throwMsg(env, "count: bytes (a Uint8Array)");
  const uint8_t *s = p, *e = s + n;
  uint32_t c = 0;
  while (s < e && (s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
    c++;
    s++;
  }
  napi_value out;
  napi_create_uint32(env, c, &out);
  return out;
}

static void initTables(void) {
  for (int k = 0; k < NWORDS; k++) WORD_LEN[k] = (int)strlen(WORDS[k].w);
  for (int k = 0; k < NROLEKEYS; k++) ROLE_KEY_LEN[k] = (int)strlen(ROLE_KEYS[k].k);
  for (int i = 0; i < 10; i++) LEVEL_MESSAGE_LEN[i] = strlen(LEVEL_MESSAGE[i]);
  for (int c = 0; c < 0x20; c++) NEEDS_ESC[c] = 1;
  NEEDS_ESC['"'] = 1;
  NEEDS_ESC['\\'] = 1;
  for (int c = 65; c <= 90; c++) CLASS[c] = K_UPPER;
  for (int c = 97; c <= 122; c++) CLASS[c] = K_LOWER;
  for (int c = 48; c <= 57; c++) CLASS[c] = K_WORDISH;
  CLASS[95] = K_WORDISH;
}

static pthread_once_t tablesOnce = PTHREAD_ONCE_INIT;

NAPI_MODULE_INIT() {
  pthread_once(&tablesOnce, initTables);
  napi_property_descriptor d[] = {
    {"bind", NULL, Bind, NULL, NULL, NULL, napi_default, NULL},
    {"step", NULL, Step, NULL, NULL, NULL, napi_default, NULL},
    {"count", NULL, Count, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
  napi_value v;
  napi_create_int32(env, ST_SIZE, &v);
  napi_set_named_property(env, exports, "stateSize", v);
  return exports;
}
