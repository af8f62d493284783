/*
 * Fuzz driver over the native UDP reader's core (native/udp_core.c), built with
 * libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer by native/fuzz/run.sh
 * (`npm run fuzz`). It drives udp_take as the receiver does
 * (src/sources/syslog/udp-receiver.ts #pump: room given when asked, the batch
 * handed on at UDP_FULL and UDP_PEER, the hold bound and the flush size passed
 * per call) over datagrams from up to four peers, and checks, besides what the
 * sanitizers see, against a plain model of the same rules written here:
 *
 * - the frames written, in order, are the model's (each datagram's bytes without
 *   its trailing LF, CR and NUL, then one LF), and nothing is written past the
 *   run's reported length (canary; the run is allocated exactly, so ASan sees
 *   a byte past its end);
 * - every datagram is consumed once: dropped past the hold bound, empty, a frame,
 *   or handed back for the decoder (UDP_DGRAM) exactly when the model says so;
 *   counts (datagrams, bytes, frames, overflow) add up to the model's;
 * - UDP_PEER comes exactly at a change of peer, before anything of that datagram;
 *   UDP_CHECK exactly for a frame without a valid <PRI>, naming that frame;
 *   UDP_ROOM only when the frame does not fit, UDP_FULL only past flushAt.
 *
 * Input: byte 0: maxFrame (bits 0-1: 1, 16, 64, 65536), checkSyslog (bit 2), the
 * first run's size (bits 3-5: 0, 1, 7, 64, 256, 4096, 65536, 131072), flushAt (bits
 * 6-7: 1, 100, 1000, unbounded); byte 1: the hold bound (0, 1, 100, 1000, 10000, or
 * unbounded); then datagrams, each a header byte (bits 0-1 its peer), a 2-byte
 * little-endian length (modulo 65537, cut at the input's end) and its bytes.
 *
 * Built with -DFUZZ_STANDALONE it replays the files named on the command line.
 */
#include "udp_core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_udp"
#include "fuzz/fuzz.h"

#define MAX_DGRAMS 256
#define CANARY 0xa5

/* the model's <PRI> (src/sources/syslog/batch.ts hasPri, written apart from udp_has_pri) */
static int modelPri(const uint8_t *b, size_t n) {
  if (n < 3 || b[0] != '<') return 0;
  size_t k = 1;
  while (k < n && k < 5 && b[k] >= '0' && b[k] <= '9') k++;
  size_t digits = k - 1;
  if (digits < 1 || digits > 3 || k >= n || b[k] != '>') return 0;
  if (digits > 1 && b[1] == '0') return 0;
  unsigned v = 0;
  for (size_t j = 1; j < k; j++) v = v * 10 + (unsigned)(b[j] - '0');
  return v <= 191;
}

typedef struct {
  uint8_t *p;
  size_t cap, len;
} Bytes;

static void put(Bytes *o, const uint8_t *b, size_t n) {
  if (o->len + n > o->cap) {
    size_t c = o->cap ? o->cap : 1024;
    while (c < o->len + n) c *= 2;
    o->p = realloc(o->p, c);
    CHECK(o->p != NULL, "out of memory");
    o->cap = c;
  }
  if (n > 0) memcpy(o->p + o->len, b, n);
  o->len += n;
}

/* a run of exactly cap bytes, the free part filled with the canary */
static uint8_t *newRun(size_t cap, const uint8_t *old, size_t off) {
  uint8_t *r = malloc(cap ? cap : 1);
  CHECK(r != NULL, "out of memory");
  if (off > 0) memcpy(r, old, off);
  memset(r + off, CANARY, cap - off);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  static const size_t frames[] = {1, 16, 64, 65536};
  static const size_t runs[] = {0, 1, 7, 64, 256, 4096, 65536, 131072};
  static const size_t flushes[] = {1, 100, 1000, (size_t)1 << 40};
  static const double holds[] = {0, 1, 100, 1000, 10000, 1e15};
  size_t maxFrame = frames[data[0] & 3];
  int checkSyslog = (data[0] >> 2) & 1;
  size_t runCap = runs[(data[0] >> 3) & 7];
  size_t flushEvery = flushes[(data[0] >> 6) & 3];
  double hold = holds[data[1] % 6];

  UdpDgram dg[MAX_DGRAMS];
  size_t n = 0;
  size_t p = 2;
  while (p + 3 <= size && n < MAX_DGRAMS) {
    uint8_t h = data[p];
    size_t len = ((size_t)data[p + 1] | ((size_t)data[p + 2] << 8)) % 65537;
    p += 3;
    if (len > size - p) len = size - p;
    memset(dg[n].peer, 0, UDP_PEER_LEN);
    dg[n].peer[0] = 2;
    dg[n].peer[4] = 127;
    dg[n].peer[7] = (uint8_t)(1 + (h & 3));
    dg[n].data = data + p;
    dg[n].len = len;
    n++;
    p += len;
  }

  /* the model: what each datagram becomes, the frames, the counts */
  Bytes want = {0};
  enum { DROP, EMPTY, FRAME, DECODER } kind[MAX_DGRAMS];
  int peerChange[MAX_DGRAMS];
  size_t wantBytes = 0, wantFrames = 0, wantOverflow = 0, added = 0;
  const uint8_t *mcur = NULL;
  for (size_t i = 0; i < n; i++) {
    const UdpDgram *d = &dg[i];
    wantBytes += d->len;
    peerChange[i] = 0;
    if ((double)added >= hold) {
      kind[i] = DROP;
      wantOverflow++;
      continue;
    }
    if (mcur == NULL || memcmp(mcur, d->peer, UDP_PEER_LEN) != 0) peerChange[i] = 1;
    mcur = d->peer;
    size_t e = d->len;
    while (e > 0 && (d->data[e - 1] == '\n' || d->data[e - 1] == '\r' || d->data[e - 1] == 0)) e--;
    int plain = e <= maxFrame;
    for (size_t j = 0; plain && j < e; j++) plain = d->data[j] != '\n' && d->data[j] != 0;
    if (e == 0) kind[i] = EMPTY;
    else if (!plain) kind[i] = DECODER;
    else {
      kind[i] = FRAME;
      put(&want, d->data, e);
      put(&want, (const uint8_t *)"\n", 1);
      wantFrames++;
      added += e + 1;
    }
  }

  /* the driver: udp_take as the receiver calls it */
  Bytes got = {0};
  uint8_t *run = newRun(runCap, NULL, 0);
  UdpTake t;
  memset(&t, 0, sizeof t);
  t.dg = dg;
  t.n = n;
  t.maxFrame = maxFrame;
  t.checkSyslog = checkSyslog;
  size_t total = 0;  /* bytes of frames so far (nothing is acknowledged: the hold bound's in flight) */
  size_t batch = 0;  /* bytes of the open batch */
  size_t datagrams = 0, bytes = 0, nframes = 0, overflow = 0;
  size_t seenPeer = 0, seenCheck = 0, seenDecoder = 0;
  for (int calls = 0;; calls++) {
    CHECK(calls < 4 * MAX_DGRAMS + 16, "udp_take does not progress");
    size_t i0 = t.i, off0 = t.off;
    t.run = run;
    t.runCap = runCap;
    t.avail = hold - (double)total;
    t.flushAt = flushEvery > batch ? flushEvery - batch : 1;
    t.datagrams = t.bytes = t.frames = t.overflow = 0;
    int r = udp_take(&t);
    CHECK(t.i >= i0 && t.i <= n, "i %zu from %zu", t.i, i0);
    CHECK(t.off >= off0 && t.off <= runCap, "off %zu from %zu, cap %zu", t.off, off0, runCap);
    /* a frame past the length would lie within a datagram's length of it (ASan sees past the run's end) */
    for (size_t j = t.off; j < runCap && j < t.off + maxFrame + 2; j++) CHECK(run[j] == CANARY, "byte %zu past the run's length %zu written", j, t.off);
    datagrams += t.datagrams;
    bytes += t.bytes;
    nframes += t.frames;
    overflow += t.overflow;
    CHECK(t.datagrams == t.i - i0, "%zu datagrams counted, %zu consumed", t.datagrams, t.i - i0);
    for (size_t j = i0; j < t.i; j++) {
      if (r == UDP_DGRAM && j == t.i - 1) continue;
      CHECK(kind[j] != DECODER, "datagram %zu is the decoder's, consumed as a frame", j);
      CHECK(!peerChange[j], "datagram %zu changes peer, taken without UDP_PEER", j);
    }
    total += t.off - off0;
    batch += t.off - off0;
    switch (r) {
      case UDP_DONE:
        CHECK(t.i == n, "done at %zu of %zu", t.i, n);
        break;
      case UDP_PEER:
        CHECK(t.i < n && peerChange[t.i] && kind[t.i] != DROP, "UDP_PEER at %zu", t.i);
        CHECK(memcmp(t.cur, dg[t.i].peer, UDP_PEER_LEN) == 0 && t.hasCur, "cur is not the new peer");
        seenPeer++;
        peerChange[t.i] = 0; /* said once */
        break;
      case UDP_CHECK: {
        CHECK(checkSyslog, "UDP_CHECK without checkSyslog");
        CHECK(t.i > 0 && kind[t.i - 1] == FRAME, "UDP_CHECK after datagram %zu, not a frame", t.i - 1);
        CHECK(t.markEnd + 1 == t.off && t.markStart < t.markEnd && run[t.markEnd] == '\n', "mark [%zu, %zu) is not the last frame", t.markStart, t.markEnd);
        CHECK(!modelPri(run + t.markStart, t.markEnd - t.markStart), "UDP_CHECK for a frame with a <PRI>");
        seenCheck++;
        break;
      }
      case UDP_ROOM: {
        CHECK(t.i < n && kind[t.i] == FRAME, "UDP_ROOM for datagram %zu, not a frame", t.i);
        CHECK(t.need > runCap - t.off && t.need <= maxFrame + 1, "need %zu with %zu free", t.need, runCap - t.off);
        size_t cap = t.off + t.need + (data[0] & 1 ? 0 : 17);
        uint8_t *next = newRun(cap, run, t.off);
        free(run);
        run = next;
        runCap = cap;
        break;
      }
      case UDP_DGRAM:
        CHECK(t.i > 0 && kind[t.i - 1] == DECODER, "UDP_DGRAM for datagram %zu", t.i - 1);
        seenDecoder++;
        break;
      case UDP_FULL:
        CHECK(t.off - off0 >= t.flushAt, "UDP_FULL after %zu bytes, flushAt %zu", t.off - off0, t.flushAt);
        break;
      default:
        CHECK(0, "answer %d", r);
    }
    /* frames without a PRI come back one by one: every frame before the last of this call has one */
    if (checkSyslog) {
      size_t s = off0;
      while (s < t.off) {
        const uint8_t *nl = memchr(run + s, '\n', t.off - s);
        CHECK(nl != NULL, "a frame without its LF");
        size_t e = (size_t)(nl - run);
        if (!(r == UDP_CHECK && e == t.markEnd)) CHECK(modelPri(run + s, e - s), "a frame without <PRI> at %zu passed without UDP_CHECK", s);
        s = e + 1;
      }
    }
    if (r == UDP_FULL || r == UDP_PEER || r == UDP_DONE) {
      put(&got, run, t.off);
      free(run);
      run = newRun(runCap, NULL, 0);
      t.off = 0;
      batch = 0;
    }
    if (r == UDP_DONE) break;
  }
  free(run);

  size_t wantPeers = 0, wantChecks = 0, wantDecoder = 0;
  const uint8_t *cur = NULL;
  for (size_t i = 0; i < n; i++) {
    if (kind[i] == DROP) continue;
    if (cur == NULL || memcmp(cur, dg[i].peer, UDP_PEER_LEN) != 0) wantPeers++;
    cur = dg[i].peer;
    if (kind[i] == DECODER) wantDecoder++;
    if (kind[i] == FRAME && checkSyslog) {
      size_t e = dg[i].len;
      while (e > 0 && (dg[i].data[e - 1] == '\n' || dg[i].data[e - 1] == '\r' || dg[i].data[e - 1] == 0)) e--;
      if (!modelPri(dg[i].data, e)) wantChecks++;
    }
  }
  CHECK(got.len == want.len && (want.len == 0 || memcmp(got.p, want.p, want.len) == 0), "frames differ from the model (%zu bytes, want %zu)", got.len, want.len);
  CHECK(datagrams == n && bytes == wantBytes && nframes == wantFrames && overflow == wantOverflow, "counts %zu/%zu/%zu/%zu, want %zu/%zu/%zu/%zu", datagrams, bytes, nframes, overflow, n, wantBytes, wantFrames, wantOverflow);
  CHECK(seenPeer == wantPeers && seenCheck == wantChecks && seenDecoder == wantDecoder, "peer/check/decoder %zu/%zu/%zu, want %zu/%zu/%zu", seenPeer, seenCheck, seenDecoder, wantPeers, wantChecks, wantDecoder);
  free(want.p);
  free(got.p);
  return 0;
}

