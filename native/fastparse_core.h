/*
 * The native writer's core (native/fastparse_core.c): pure C, no N-API, so a fuzz
 * driver (native/fuzz/fuzz_core.c) links it as it is. native/binding.c is the only
 * N-API code: it converts one call's arguments into an FpCall and calls fp_step.
 *
 * Everything one call needs comes in the FpCall, every pointer in it is the caller's
 * and is used during that call only: the core keeps no pointer into the caller's
 * memory when fp_step returns (its per-thread scratch is its own memory).
 */
#ifndef SLUICE_FASTPARSE_CORE_H
#define SLUICE_FASTPARSE_CORE_H

#include <stddef.h>
#include <stdint.h>

/* The generated tables (native/gen-tables.ts, from the TypeScript ones). An install
   with tsx writes tables.gen.h from the sources of that checkout; without it (no dev
   dependencies) the committed tables.h is used. native.test.ts fails when the
   committed tables.h is not what the generator writes. */
#if defined(__has_include)
#if __has_include("tables.gen.h")
#include "tables.gen.h"
#else
#include "tables.h"
#endif
#else
#include "tables.h"
#endif

/* fp_step's answers (native.ts STEP), and one of its own for arguments it refuses. */
#define FP_STEP_EINVAL (-1)

/*
 * The output size budget: the bytes one record may take, for a line of n bytes
 * (fp_step asks for it before it renders a line; the checked writer bails a line
 * that would pass the end of the output anyway).
 *
 * A byte of the line is written at most twice (a logfmt line without a message key:
 * once in the message, which is then the whole line, and once as a field's key or
 * value, or as the host or app; every other format writes a byte once, JSON at most
 * twice, its whole line in the message when it has no message key) and a written
 * byte takes at most 6 bytes (a control character as JSON writes it, "\u0001"):
 * 12 per byte. Every other part of a record is bounded: the seq room and its newline
 * (seqDigits + 8), the middle segment (midLen), and, under FP_RECORD_FIXED, the rest:
 * the time 33 (`,"time":"` and 24), the host and app labels and quotes 19, the longest
 * level and message label 31, the message's quotes 2, the fields' frame with an RFC
 * 5424 facility (12 at most) and its procid, msgid and sd labels 69; 154 in all.
 * The per-token and per-element overheads of logfmt and RFC 5424 (quotes, colons,
 * commas, `true`) are paid from the line's own syntax bytes: the worst, a one-byte
 * bare logfmt key `\` and a control-character separator, writes 18 bytes for those 2
 * (under 24). The worst line measured (logfmt, no message key, raw control bytes in
 * quoted values) takes ~11.9 bytes per byte; the fuzz driver checks every record
 * against this bound.
 */
#define FP_BYTES_PER_BYTE 12
#define FP_RECORD_FIXED 256

static inline size_t fp_line_budget(size_t n, size_t midLen, int seqDigits) {
  return (size_t)seqDigits + 8 + FP_RECORD_FIXED + midLen + FP_BYTES_PER_BYTE * n;
}

/* Lines longer than this go to JS whatever the job's limit (n stays an int and the budget cannot wrap). */
#define FP_MAX_LINE ((size_t)(INT32_MAX / 32))

typedef struct FpCall {
  /* the job (read only) */
  const uint8_t *region; /* runs of complete lines: the lines of region[pos, regionLen) are rendered */
  size_t regionLen;
  double now;            /* the job's time (ms), for lines without one */
  int format;            /* FP_FORMAT_* */
  int utc;               /* the process zone is UTC: local wall-clock times may be converted here */
  int seqDigits;         /* 0: record tails; else whole records with room for a seq of this many digits */
  size_t maxLine;        /* longer lines go to JS (which truncates them) */
  const uint8_t *mid;    /* the middle segment (core/record.ts middleText), as UTF-8 */
  size_t midLen;

  /* the caller's output, for this call only */
  uint8_t *out;          /* records are written at out[off..outCap) */
  size_t outCap;
  uint32_t *ends;        /* per record: end offset in out */
  uint32_t *msg;         /* per record: message start and end offsets in out (2 per record) */
  double *times;         /* per record: time (ms) */
  uint8_t *levels;       /* per record: level code (core/record.ts LEVELS index + 1, 0: none) */
  size_t recCap;         /* records the four arrays have room for */

  /* the fuzz driver's switch: 1 skips the per-line budget check, so the checked
     writer meets the end of the output itself (each such line is bailed) */
  int trustWriter;

  /* progress: read at the call and advanced by it */
  size_t pos, off, idx;

  /* this call's results */
  size_t bailStart, bailEnd; /* FP_STEP_BAIL: JS takes region[bailStart, bailEnd) */
  size_t need;               /* FP_STEP_ROOM: free bytes wanted after off */
  uint32_t lines;            /* records written by this call */
  uint32_t counted[FP_NCOUNTERS]; /* of them, by parser (native.ts NATIVE_COUNTERS) */
  uint32_t overflows;        /* lines bailed because the output was full mid-line */
} FpCall;

/*
 * Render the lines of region[pos..] until a line must go to JS (FP_STEP_BAIL), the
 * output or the record arrays have no room for the next line (FP_STEP_ROOM: need)
 * or the region is done (FP_STEP_DONE). FP_STEP_EINVAL: pos, off or idx out of range.
 * Not re-entrant within a thread (per-thread scratch); any number of threads.
 */
int fp_step(FpCall *c);

/* Days since 1970-01-01 of a proleptic Gregorian date, any year (H. Hinnant's days_from_civil). */
int64_t fp_days_from_civil(int64_t y, int m, int d);

/* Days in month m (1-12) of year y. */
int fp_days_in_month(int64_t y, int m);

/* The number of '\n' in s[0, n). */
size_t fp_count_newlines(const uint8_t *s, size_t n);

/* Free this thread's scratch (it is allocated again when needed). */
void fp_thread_release(void);

#endif
