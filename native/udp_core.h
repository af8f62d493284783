/*
 * The native UDP reader's core (native/udp_core.c): pure C, no N-API and no
 * sockets, so a fuzz driver (native/fuzz/fuzz_udp.c) links it as it is. It turns
 * datagrams already read (native/udp_socket.c reads them with recvmmsg) into the
 * frames of one LF-terminated run, exactly as the JavaScript receiver does one
 * datagram at a time (src/sources/syslog/udp-receiver.ts, the twin), and stops
 * for whatever only JavaScript decides: a change of peer (a batch has one
 * origin), a frame without a <PRI> (the RFC 3164 check), a datagram that needs
 * the frame decoder (a LF or NUL inside, or longer than the frame cap), more room.
 *
 * Every pointer in a UdpTake is the caller's and is used during that call only.
 */
#ifndef SLUICE_UDP_CORE_H
#define SLUICE_UDP_CORE_H

#include <stddef.h>
#include <stdint.h>

/* a peer as bytes: family (2), port (2, network order), address (16; IPv4 in the first 4) */
#define UDP_PEER_LEN 20

typedef struct {
  const uint8_t *data;
  size_t len;
  uint8_t peer[UDP_PEER_LEN];
} UdpDgram;

/* udp_take's answers (src/sources/syslog/udp-native.ts TAKE) */
enum {
  UDP_DONE = 0,  /* every datagram consumed */
  UDP_PEER = 1,  /* dg[i] comes from another peer than the frames so far: cur is it now; nothing consumed */
  UDP_CHECK = 2, /* the frame run[markStart, markEnd) has no <PRI>: the caller checks it for RFC 3164 */
  UDP_ROOM = 3,  /* dg[i]'s frame needs `need` bytes of run from off; nothing consumed */
  UDP_DGRAM = 4, /* dg[i - 1] was consumed for the caller's frame decoder */
  UDP_FULL = 5,  /* `flushAt` bytes were added: the caller hands the batch on */
};

typedef struct {
  const UdpDgram *dg;
  size_t n;
  size_t i; /* in/out: the next datagram */
  uint8_t *run;
  size_t runCap;
  size_t off; /* in/out: the run's length */
  size_t maxFrame;
  int checkSyslog;
  /* bytes this call may add before datagrams are dropped (udp_overflow): the hold bound left; may be <= 0 */
  double avail;
  /* bytes this call may add before it answers UDP_FULL */
  size_t flushAt;
  uint8_t cur[UDP_PEER_LEN]; /* in/out: the peer of the frames so far */
  int hasCur;
  /* out, this call's */
  size_t datagrams, bytes, frames, overflow;
  size_t markStart, markEnd;
  size_t need;
} UdpTake;

int udp_take(UdpTake *t);
/* <PRI> at b[0..n): PRI 0..191, 1-3 digits, no leading zero (src/sources/syslog/batch.ts hasPri) */
int udp_has_pri(const uint8_t *b, size_t n);

#endif
