/*
 * The native UDP reader's core: datagrams into LF-terminated frames of one run
 * (native/udp_core.h says what it owns and where it stops). The rules are the
 * JavaScript receiver's, one for one (src/sources/syslog/udp-receiver.ts
 * #onMessage): a datagram past the hold bound is dropped (udp_overflow) before
 * anything else; a change of peer ends the batch; trailing LF, CR and NUL are
 * stripped; an empty datagram gives no frame; a datagram with no LF or NUL
 * left inside and within the frame cap is one frame, copied with a LF after it;
 * any other goes to the frame decoder. udp-native.test.ts holds the two to it.
 */
#include "udp_core.h"

#include <string.h>

int udp_has_pri(const uint8_t *b, size_t n) {
  if (n == 0 || b[0] != '<') return 0;
  unsigned v = 0;
  size_t i = 1;
  for (; i < 5 && i < n; i++) {
    uint8_t c = b[i];
    if (c == '>') break;
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (unsigned)(c - '0');
  }
  return i > 1 && i < 5 && i < n && b[i] == '>' && v <= 191 && !(i > 2 && b[1] == '0');
}

int udp_take(UdpTake *t) {
  size_t added = 0;
  while (t->i < t->n) {
    if (added >= t->flushAt) return UDP_FULL;
    const UdpDgram *d = &t->dg[t->i];
    if ((double)added >= t->avail) {
      t->i++;
      t->datagrams++;
      t->bytes += d->len;
      t->overflow++;
      continue;
    }
    if (!t->hasCur || memcmp(t->cur, d->peer, UDP_PEER_LEN) != 0) {
      memcpy(t->cur, d->peer, UDP_PEER_LEN);
      t->hasCur = 1;
      return UDP_PEER;
    }
    const uint8_t *b = d->data;
    size_t e = d->len;
    while (e > 0 && (b[e - 1] == '\n' || b[e - 1] == '\r' || b[e - 1] == 0)) e--;
    if (e == 0) {
      t->i++;
      t->datagrams++;
      t->bytes += d->len;
      continue;
    }
    if (e > t->maxFrame || memchr(b, '\n', e) != NULL || memchr(b, 0, e) != NULL) {
      t->i++;
      t->datagrams++;
      t->bytes += d->len;
      return UDP_DGRAM;
    }
    if (t->off > t->runCap || t->runCap - t->off < e + 1) {
      t->need = e + 1;
      return UDP_ROOM;
    }
    memcpy(t->run + t->off, b, e);
    t->run[t->off + e] = '\n';
    t->i++;
    t->datagrams++;
    t->bytes += d->len;
    t->frames++;
    size_t s = t->off;
    t->off += e + 1;
    added += e + 1;
    if (t->checkSyslog && !udp_has_pri(b, e)) {
      t->markStart = s;
      t->markEnd = s + e;
      return UDP_CHECK;
    }
  }
  return UDP_DONE;
}
