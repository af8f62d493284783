/*
 * Fuzz driver over the native writer's core (native/fastparse_core.c), built with
 * libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer by native/fuzz/run.sh
 * (`npm run fuzz`). It drives fp_step as the parse worker does (src/parse/worker.ts:
 * room asked for is given, bailed lines are skipped here instead of parsed in JS)
 * and checks, besides what the sanitizers see:
 *
 * - every record lies within what the call reports (off), the bytes after it (as
 *   far as the next line's budget) are untouched (canary), and no record is longer than fp_line_budget for its line (the
 *   checked writer never fills when the budget was given: overflows == 0);
 * - every record is well-formed JSON (with its seq room filled in) and its message
 *   offsets delimit one JSON string; times are in 1970..9999, levels known;
 * - records, bails and counters add up (one record or one bail per line, in order);
 * - the output does not depend on how the buffers grew: the same input rendered
 *   with room for everything from the start gives the same bytes;
 * - with trustWriter and a small output, the checked writer stops every line at
 *   the end of the buffer (exactly allocated, so ASan sees any byte past it).
 *
 * Input: byte 0 format (bits 0-2, 5-7: auto), seq digits (bits 3-4: 0, 1, 4, 10),
 * UTC (bit 5), `now` (bits 6-7: a 2026 time, twice, 0, -1); byte 1 mode (bits 0-1:
 * 0 grown as asked and with room for all, compared; 1 the first alone; 2 trustWriter;
 * 3 the second alone), stretch (bit 2 with bits 5-7 all set, one input in 16: the first
 * line repeated to ~64 KiB; a stretched input costs a 64 KiB line whatever its size),
 * maxLine (bits 3-4: 1 MiB, 64 KiB, 4 KiB, 100), trustWriter's output size (bits 5-7);
 * the rest is the region (lines).
 *
 * Built with -DFUZZ_STANDALONE (any C compiler with sanitizers, e.g. gcc) it replays
 * the files named on the command line instead.
 */
#include "fastparse_core.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_core"
#include "fuzz/fuzz.h"

static const char MID[] = "\",\"source\":\"app\",\"stream\":\"main\",\"origin\":{\"kind\":\"file\",\"path\":\"/var/log/app \\\"\xc3\xbc\\\".log\"}";
#define MID_LEN (sizeof(MID) - 1)
#define CANARY 0xa5

/* ------------------------------------------------------------ a strict JSON checker (RFC 8259, UTF-8) */

typedef struct { const uint8_t *s; size_t n, i; int depth; } J;

static int jpeek(J *j) { return j->i < j->n ? j->s[j->i] : -1; }
static void jws(J *j) {
  while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r')) j->i++;
}
static int hex(int c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

/* one UTF-8 sequence at s[i] (Unicode Table 3-7): its length, 0 when invalid */
static size_t utf8At(const uint8_t *s, size_t n, size_t i) {
  int c = s[i];
  if (c < 0x80) return 1;
  size_t need;
  int lo = 0x80, hi = 0xbf;
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
  for (size_t k = 2; k <= need; k++)
    if (s[i + k] < 0x80 || s[i + k] > 0xbf) return 0;
  return need + 1;
}

static int jstring(J *j) {
  if (jpeek(j) != '"') return 0;
  j->i++;
  while (j->i < j->n) {
    int c = j->s[j->i];
    if (c == '"') {
      j->i++;
      return 1;
    }
    if (c < 0x20) return 0;
    if (c == '\\') {
      int e = j->i + 1 < j->n ? j->s[j->i + 1] : -1;
      if (e == 'u') {
        if (j->i + 5 >= j->n) return 0;
        for (int k = 2; k < 6; k++)
          if (!hex(j->s[j->i + k])) return 0;
        j->i += 6;
        continue;
      }
      if (e < 0 || !strchr("\"\\/bfnrt", e) || e == 0) return 0;
      j->i += 2;
      continue;
    }
    size_t l = utf8At(j->s, j->n, j->i);
    if (l == 0) return 0;
    j->i += l;
  }
  return 0;
}

static int digits(J *j) {
  size_t i0 = j->i;
  while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') j->i++;
  return j->i > i0;
}

static int jnumber(J *j) {
  if (jpeek(j) == '-') j->i++;
  if (jpeek(j) == '0') j->i++;
  else if (!(jpeek(j) >= '1' && jpeek(j) <= '9') || !digits(j)) return 0;
  if (jpeek(j) == '.') {
    j->i++;
    if (!digits(j)) return 0;
  }
  if (jpeek(j) == 'e' || jpeek(j) == 'E') {
    j->i++;
    if (jpeek(j) == '+' || jpeek(j) == '-') j->i++;
    if (!digits(j)) return 0;
  }
  return 1;
}

static int jlit(J *j, const char *w) {
  size_t l = strlen(w);
  if (j->i + l > j->n || memcmp(j->s + j->i, w, l) != 0) return 0;
  j->i += l;
  return 1;
}

static int jvalue(J *j) {
  if (++j->depth > 128) return 0;
  jws(j);
  int ok;
  int c = jpeek(j);
  if (c == '{') {
    j->i++;
    jws(j);
    if (jpeek(j) == '}') {
      j->i++;
      ok = 1;
    } else {
      for (;;) {
        jws(j);
        if (!jstring(j)) return 0;
        jws(j);
        if (jpeek(j) != ':') return 0;
        j->i++;
        if (!jvalue(j)) return 0;
        jws(j);
        if (jpeek(j) == ',') {
          j->i++;
          continue;
        }
        if (jpeek(j) != '}') return 0;
        j->i++;
        break;
      }
      ok = 1;
    }
  } else if (c == '[') {
    j->i++;
    jws(j);
    if (jpeek(j) == ']') {
      j->i++;
      ok = 1;
    } else {
      for (;;) {
        if (!jvalue(j)) return 0;
        jws(j);
        if (jpeek(j) == ',') {
          j->i++;
          continue;
        }
        if (jpeek(j) != ']') return 0;
        j->i++;
        break;
      }
      ok = 1;
    }
  } else if (c == '"') ok = jstring(j);
  else if (c == 't') ok = jlit(j, "true");
  else if (c == 'f') ok = jlit(j, "false");
  else if (c == 'n') ok = jlit(j, "null");
  else ok = jnumber(j);
  j->depth--;
  jws(j);
  return ok;
}

/* s[0, n) is exactly one JSON value */
static int jsonValid(const uint8_t *s, size_t n) {
  J j = {s, n, 0, 0};
  return jvalue(&j) && j.i == n;
}

/* s[0, n) is exactly one JSON string */
static int jsonString(const uint8_t *s, size_t n) {
  J j = {s, n, 0, 0};
  return jstring(&j) && j.i == n;
}

/* ------------------------------------------------------------ a run of the driver */

/*
 * Buffers reused from input to input (a fresh large allocation per input is an mmap and
 * page faults, most of the driver's time). A buffer of `cap` bytes is handed out at the end
 * of its allocation: a byte past it is ASan's redzone, as with an exact malloc, and the
 * unused start is poisoned.
 */
typedef struct {
  uint8_t *base;
  size_t alloc;
} Arena;

static uint8_t *arenaTake(Arena *a, size_t cap) {
  if (a->base == NULL || a->alloc < cap) {
    free(a->base);
    a->alloc = cap > 2 * a->alloc ? cap : 2 * a->alloc;
    if (a->alloc < 4096) a->alloc = 4096;
    a->base = malloc(a->alloc);
    if (a->base == NULL) abort();
  }
  uint8_t *p = a->base + (a->alloc - cap);
  ASAN_UNPOISON_MEMORY_REGION(a->base, a->alloc);
  ASAN_POISON_MEMORY_REGION(a->base, (size_t)(p - a->base));
  return p;
}

typedef struct {
  Arena *arena[2]; /* the output moves from one to the other as it grows */
  int which;
  uint8_t *out;
  size_t cap;
  uint32_t *ends, *msg;
  double *times;
  uint8_t *levels;
  size_t recCap;
} Bufs;

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n == 0 ? 1 : n);
  if (q == NULL) abort();
  return q;
}

static void growRecords(Bufs *b, size_t to) {
  b->ends = xrealloc(b->ends, to * sizeof(uint32_t));
  b->msg = xrealloc(b->msg, 2 * to * sizeof(uint32_t));
  b->times = xrealloc(b->times, to * sizeof(double));
  b->levels = xrealloc(b->levels, to);
  b->recCap = to;
}

/* `to` bytes ending where the allocation ends, so ASan reports a write past them (the core
   is told cap = to); the first `keep` bytes are copied, with canary 1 the rest is the canary */
static void growOut(Bufs *b, size_t keep, size_t to, int canary) {
  b->which ^= 1;
  uint8_t *o = arenaTake(b->arena[b->which], to);
  if (keep > 0) memcpy(o, b->out, keep);
  if (canary && to > keep) memset(o + keep, CANARY, to - keep);
  b->out = o;
  b->cap = to;
}

static void freeBufs(Bufs *b) {
  free(b->ends);
  free(b->msg);
  free(b->times);
  free(b->levels);
}

typedef struct {
  int format, seqDigits, utc, trust;
  double now;
  size_t maxLine, trustCap;
} Setup;

typedef struct {
  size_t off, records, bails, lines;
  uint32_t counted[FP_NCOUNTERS];
} Totals;

/* the line at region[p]: its end (without '\n' and one '\r') and the next line's start; 0 when incomplete */
static int lineAt(const uint8_t *r, size_t len, size_t p, size_t *n, size_t *next) {
  const uint8_t *nl = memchr(r + p, '\n', len - p);
  if (nl == NULL) {
    *n = len - p;
    *next = len;
    return 0;
  }
  size_t e = (size_t)(nl - r);
  *next = e + 1;
  if (e > p && r[e - 1] == '\r') e--;
  *n = e - p;
  return 1;
}

/* check the records [idx0, idx) the last call wrote, for the lines from pos0 */
static size_t checkRecords(const Setup *su, const uint8_t *region, size_t len, const Bufs *b, size_t off0, size_t idx0, size_t idx, size_t pos0,
                           uint8_t *tmp, size_t tmpCap) {
  size_t start = off0, p = pos0;
  for (size_t k = idx0; k < idx; k++) {
    size_t n, next;
    int complete = lineAt(region, len, p, &n, &next);
    CHECK(complete, "record %zu rendered from an incomplete line", k);
    CHECK(n <= su->maxLine, "record %zu from a line of %zu bytes, past maxLine %zu", k, n, su->maxLine);
    size_t end = b->ends[k];
    size_t after = end + (su->seqDigits > 0 ? 1 : 0);
    CHECK(end > start && after <= b->cap, "record %zu ends at %zu (starts %zu, cap %zu)", k, end, start, b->cap);
    size_t budget = fp_line_budget(n, MID_LEN, su->seqDigits);
    CHECK(after - start <= budget, "record %zu of %zu bytes for a line of %zu: budget %zu", k, after - start, n, budget);
    if (su->seqDigits > 0) CHECK(b->out[end] == '\n', "record %zu not followed by a newline", k);
    /* as JSON: the seq room filled with 1s, or `{"seq":1` before a tail */
    const uint8_t *rec = b->out + start;
    size_t rl = end - start;
    CHECK(rl + 16 <= tmpCap, "record %zu larger than the check buffer", k);
    size_t tl;
    if (su->seqDigits > 0) {
      CHECK(rl > 7 + (size_t)su->seqDigits && memcmp(rec, "{\"seq\":", 7) == 0, "record %zu does not start with its seq room", k);
      for (int d = 0; d < su->seqDigits; d++) CHECK(rec[7 + d] == '0', "record %zu: seq room not zeros", k);
      memcpy(tmp, rec, rl);
      memset(tmp + 7, '1', (size_t)su->seqDigits);
      tl = rl;
    } else {
      memcpy(tmp, "{\"seq\":1", 8);
      memcpy(tmp + 8, rec, rl);
      tl = rl + 8;
    }
    if (!jsonValid(tmp, tl)) {
      fprintf(stderr, "record %zu: %.*s\n", k, (int)(rl < 4000 ? rl : 4000), (const char *)rec);
      CHECK(0, "record %zu is not well-formed JSON", k);
    }
    size_t m0 = b->msg[2 * k], m1 = b->msg[2 * k + 1];
    CHECK(m0 > start && m1 > m0 && m1 < end, "record %zu: message at [%zu, %zu) outside [%zu, %zu)", k, m0, m1, start, end);
    CHECK(jsonString(b->out + m0, m1 - m0), "record %zu: the message offsets do not delimit one JSON string", k);
    CHECK(b->times[k] >= 0 && b->times[k] < 253402300800000.0, "record %zu: time %f", k, b->times[k]);
    CHECK(b->levels[k] < 10, "record %zu: level %d", k, b->levels[k]);
    start = after;
    p = next;
  }
  return p;
}

/* Render the region as the worker does; returns the totals, leaves the records in b. */
/* canary: check that the bytes after the records, up to the next line's budget (where a stray
   write would land), are untouched */
static Totals run(const Setup *su, const uint8_t *region, size_t len, Bufs *b, int canary, uint8_t *tmp, size_t tmpCap) {
  Totals t = {0};
  FpCall c = {0};
  c.region = region;
  c.regionLen = len;
  c.now = su->now;
  c.format = su->format;
  c.utc = su->utc;
  c.seqDigits = su->seqDigits;
  c.maxLine = su->maxLine;
  c.mid = (const uint8_t *)MID;
  c.midLen = MID_LEN;
  c.trustWriter = su->trust;
  size_t pos = 0, off = 0, idx = 0;
  int rooms = 0;
  for (int calls = 0;; calls++) {
    CHECK(calls < 10000000, "no end after %d calls", calls);
    c.out = b->out;
    c.outCap = b->cap;
    c.ends = b->ends;
    c.msg = b->msg;
    c.times = b->times;
    c.levels = b->levels;
    c.recCap = b->recCap;
    c.pos = pos;
    c.off = off;
    c.idx = idx;
    int r = fp_step(&c);
    CHECK(r == FP_STEP_DONE || r == FP_STEP_BAIL || r == FP_STEP_ROOM, "fp_step answered %d", r);
    CHECK(c.off >= off && c.off <= b->cap && c.idx >= idx && c.idx <= b->recCap && c.pos >= pos && c.pos <= len, "progress out of range");
    CHECK(c.lines == c.idx - idx, "%u lines counted for %zu records", c.lines, c.idx - idx);
    uint32_t sum = 0;
    for (int k = 0; k < FP_NCOUNTERS; k++) sum += c.counted[k];
    CHECK(sum == c.lines, "counters add up to %u for %u lines", sum, c.lines);
    if (!su->trust) {
      CHECK(c.overflows == 0, "the writer filled on a line the budget was given for");
    }
    if (canary) {
      size_t n, next, w = 256;
      if (c.pos < len) {
        lineAt(region, len, c.pos, &n, &next);
        w = fp_line_budget(n, MID_LEN, su->seqDigits);
      }
      size_t e = c.off + w < b->cap ? c.off + w : b->cap;
      for (size_t i = c.off; i < e; i++) CHECK(b->out[i] == CANARY, "byte %zu past the records (off %zu) was written", i, c.off);
    }
    size_t p = checkRecords(su, region, len, b, off, idx, c.idx, pos, tmp, tmpCap);
    if (r == FP_STEP_BAIL) {
      size_t n, next;
      lineAt(region, len, p, &n, &next);
      CHECK(c.bailStart == p && c.bailEnd == next && c.pos == next, "bail [%zu, %zu) pos %zu, expected [%zu, %zu)", c.bailStart, c.bailEnd, c.pos, p, next);
    } else {
      CHECK(c.pos == p, "pos %zu after the records, expected %zu", c.pos, p);
    }
    t.records += c.idx - idx;
    for (int k = 0; k < FP_NCOUNTERS; k++) t.counted[k] += c.counted[k];
    if (c.idx > idx) rooms = 0;
    pos = c.pos;
    off = c.off;
    idx = c.idx;
    if (r == FP_STEP_DONE) {
      CHECK(pos == len, "done at %zu of %zu", pos, len);
      break;
    }
    if (r == FP_STEP_BAIL) {
      t.bails++;
      rooms = 0;
      continue;
    }
    /* room: a record slot, or the bytes asked for (exactly, so a write past them meets ASan or the writer) */
    CHECK(++rooms <= 2, "asked for room twice for one line");
    if (idx >= b->recCap) growRecords(b, b->recCap * 2 + 1);
    else {
      CHECK(!su->trust, "room asked for bytes with trustWriter");
      CHECK(c.need > b->cap - off, "asked for %zu bytes with %zu free", c.need, b->cap - off);
      /* as the worker's Out.reserve: at least twice the size */
      growOut(b, off, off + c.need > 2 * b->cap ? off + c.need : 2 * b->cap, canary);
    }
  }
  t.off = off;
  return t;
}

static size_t countLines(const uint8_t *r, size_t len) {
  size_t k = 0;
  for (size_t i = 0; i < len; i++) k += r[i] == '\n';
  return k + (len > 0 && r[len - 1] != '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0;
  const uint8_t *body = size > 2 ? data + 2 : data;
  size_t bodyLen = size > 2 ? size - 2 : 0;
  static const int SEQ[4] = {0, 1, 4, 10};
  static const double NOWS[4] = {1795953600123.0, 1795953600123.0, 0, -1}; /* 2026-11-30T12:00:00.123Z */
  static const size_t MAXLINE[4] = {1 << 20, 65536, 4096, 100};
  static const size_t TRUSTCAP[8] = {0, 16, 64, 200, 512, 1024, 4096, 65536};
  Setup su;
  su.format = (b0 & 7) <= FP_FORMAT_PLAIN ? (b0 & 7) : FP_FORMAT_AUTO;
  su.seqDigits = SEQ[(b0 >> 3) & 3];
  su.utc = (b0 >> 5) & 1;
  su.now = NOWS[b0 >> 6];
  int mode = b1 & 3;
  su.trust = mode == 2;
  su.maxLine = MAXLINE[(b1 >> 3) & 3];
  su.trustCap = TRUSTCAP[b1 >> 5];

  /* the region, exactly allocated; stretched: the first line repeated to ~64 KiB */
  size_t len = bodyLen;
  uint8_t *region;
  if (((b1 >> 2) & 1) && (b1 >> 5) == 7) {
    const uint8_t *nl = memchr(body, '\n', bodyLen);
    size_t l1 = nl == NULL ? bodyLen : (size_t)(nl - body);
    size_t target = 65536 - 64 + (bodyLen & 127);
    size_t reps = l1 == 0 ? 0 : (target + l1 - 1) / l1;
    size_t rest = bodyLen - l1;
    len = reps * l1 + rest;
    region = malloc(len == 0 ? 1 : len);
    if (region == NULL) abort();
    for (size_t r = 0; r < reps; r++) memcpy(region + r * l1, body, l1);
    if (rest > 0) memcpy(region + reps * l1, body + l1, rest);
  } else {
    region = malloc(len == 0 ? 1 : len);
    if (region == NULL) abort();
    if (len > 0) memcpy(region, body, len);
  }
  size_t nlines = countLines(region, len);
  size_t nls = 0;
  for (size_t i = 0; i < len; i++) nls += region[i] == '\n';
  CHECK(fp_count_newlines(region, len) == nls, "fp_count_newlines");

  size_t total = 16;
  for (size_t p = 0; p < len;) {
    size_t n, next;
    lineAt(region, len, p, &n, &next);
    total += fp_line_budget(n, MID_LEN, su.seqDigits);
    p = next;
  }
  static Arena arenas[5];
  size_t tmpCap = total + 64;
  uint8_t *tmp = arenaTake(&arenas[4], tmpCap);

  if (su.trust) {
    /* a small output: the checked writer must stop at its end */
    Bufs b = {{&arenas[0], &arenas[1]}, 0, NULL, 0, NULL, NULL, NULL, NULL, 0};
    growOut(&b, 0, su.trustCap, 0);
    Totals t = run(&su, region, len, &b, 0, tmp, tmpCap);
    CHECK(t.records + t.bails == nlines, "%zu records and %zu bails for %zu lines", t.records, t.bails, nlines);
    freeBufs(&b);
  } else {
    /* mode 0: grown from nothing as the worker grows its buffers, then again with room for
       everything from the start, which must give the same records; mode 1 the first, mode 3 the second */
    Bufs a = {{&arenas[0], &arenas[1]}, 0, NULL, 0, NULL, NULL, NULL, NULL, 0};
    Bufs b = {{&arenas[2], &arenas[3]}, 0, NULL, 0, NULL, NULL, NULL, NULL, 0};
    Totals ta = {0}, tb = {0};
    if (mode != 3) {
      growOut(&a, 0, 0, 1);
      ta = run(&su, region, len, &a, 1, tmp, tmpCap);
      CHECK(ta.records + ta.bails == nlines, "%zu records and %zu bails for %zu lines", ta.records, ta.bails, nlines);
    }
    if (mode != 1) {
      growOut(&b, 0, total, 0);
      growRecords(&b, nlines + 1);
      tb = run(&su, region, len, &b, 0, tmp, tmpCap);
      CHECK(tb.records + tb.bails == nlines, "%zu records and %zu bails for %zu lines", tb.records, tb.bails, nlines);
    }
    if (mode == 0) {
      CHECK(ta.records == tb.records && ta.bails == tb.bails && ta.off == tb.off, "the records depend on how the buffers grew");
      CHECK(ta.off == 0 || memcmp(a.out, b.out, ta.off) == 0, "the bytes depend on how the buffers grew");
      CHECK(ta.records == 0 || (memcmp(a.ends, b.ends, ta.records * sizeof(uint32_t)) == 0 && memcmp(a.msg, b.msg, 2 * ta.records * sizeof(uint32_t)) == 0 &&
                                memcmp(a.times, b.times, ta.records * sizeof(double)) == 0 && memcmp(a.levels, b.levels, ta.records) == 0),
            "the per-record values depend on how the buffers grew");
      CHECK(memcmp(ta.counted, tb.counted, sizeof(ta.counted)) == 0, "the counters depend on how the buffers grew");
    }
    freeBufs(&a);
    freeBufs(&b);
  }
  free(region);
  return 0;
}

