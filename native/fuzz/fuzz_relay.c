/*
 * Fuzz driver over the relay scan's core (native/relay_core.c), built with
 * libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer by native/fuzz/run.sh
 * (`npm run fuzz`). The input's first byte picks the block size (lines per call:
 * 1, 2, 7 or 1024); the rest is the bytes scanned, copied into an allocation of
 * exactly their size (ASan sees a read past their end), and the result arrays
 * are allocated exactly for one block. Besides what the sanitizers see, it checks:
 *
 * - the lines scanned cover the bytes in order: each starts after the last one's
 *   end, ends at its '\n' or at the end of the bytes, and no call scans more lines
 *   than its block;
 * - a line to relay has its parts in order inside it, where the wire writer puts
 *   them: `{"seq":` at its start, the seq's digits, the time's closing quote, the
 *   origin's closing brace, the message's quotes, `}` last; its level is a level
 *   code and its time an epoch ms of the years 0 to 9999;
 * - any other answer is -1 (not a record to relay) or -2 (JS decides).
 *
 * Built with -DFUZZ_STANDALONE it replays the files named on the command line.
 */
#include "relay_core.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FP_CORE_TABLES 1
#include "fastparse_core.h"

#define FUZZ_NAME "fuzz_relay"
#include "fuzz/fuzz.h"

static const size_t BLOCKS[4] = {1, 2, 7, 1024};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t block = BLOCKS[data[0] & 3];
  size_t n = size - 1;
  uint8_t *b = malloc(n > 0 ? n : 1);
  if (n > 0) memcpy(b, data + 1, n);
  int32_t *out = malloc(block * RL_SLOTS * sizeof(int32_t));
  double *times = malloc(block * sizeof(double));
  size_t pos = 0;
  while (pos < n) {
    size_t k = relay_scan_lines(b, n, pos, out, times, block);
    CHECK(k >= 1 && k <= block, "%zu lines for a block of %zu", k, block);
    for (size_t i = 0; i < k; i++) {
      const int32_t *r = out + i * RL_SLOTS;
      size_t s = (size_t)r[RL_START], e = (size_t)r[RL_END];
      CHECK(s == pos, "line %zu starts at %zu, expected %zu", i, s, pos);
      CHECK(e >= s && e <= n, "line end %zu outside [%zu, %zu]", e, s, n);
      CHECK(memchr(b + s, '\n', e - s) == NULL, "a '\\n' inside line [%zu, %zu)", s, e);
      CHECK(e == n || b[e] == '\n', "line end %zu is not a '\\n'", e);
      int32_t q = r[RL_SEQ_END];
      if (q >= 0) {
        size_t seqEnd = (size_t)q, t1 = (size_t)r[RL_T1], o1 = (size_t)r[RL_O1], m0 = (size_t)r[RL_M0], m1 = (size_t)r[RL_M1];
        CHECK(e - s > 7 && memcmp(b + s, "{\"seq\":", 7) == 0, "a relayed line without its seq key");
        CHECK(seqEnd > s + 7 && seqEnd - s - 7 <= 15, "seq digits [%zu, %zu)", s + 7, seqEnd);
        for (size_t j = s + 7; j < seqEnd; j++) CHECK(b[j] >= '0' && b[j] <= '9', "a seq byte %u", b[j]);
        CHECK(t1 == seqEnd + 9 + 24 && b[t1] == '"', "time end %zu", t1);
        CHECK(o1 > t1 && o1 < m0 && b[o1 - 1] == '}', "origin end %zu", o1);
        CHECK(m0 < m1 && m1 < e && b[m0] == '"' && b[m1 - 1] == '"' && m1 - m0 >= 2, "message [%zu, %zu)", m0, m1);
        CHECK(b[e - 1] == '}', "a relayed line not ending with '}'");
        CHECK(r[RL_LEVEL] >= 0 && r[RL_LEVEL] < FP_NLEVELS, "level %d", r[RL_LEVEL]);
        CHECK(isfinite(times[i]) && times[i] >= -62167219200000.0 && times[i] <= 253402300799999.0 && times[i] == floor(times[i]), "time %f", times[i]);
      } else {
        CHECK(q == -1 || q == -2, "answer %d", q);
      }
      pos = e + 1;
    }
  }
  free(times);
  free(out);
  free(b);
  return 0;
}

