/*
 * The N-API binding of the native UDP reader (src/sources/syslog/udp-native.ts loads
 * it): a socket handle (an external owning a UdpSock, native/udp_socket.c) and one
 * call, take, that reads datagrams when none are pending and runs udp_take
 * (native/udp_core.c) over them into the caller's run. Every typed array is looked
 * up on each call and used during that call only: nothing keeps a pointer into JS
 * memory between calls. A handle is used by the thread that opened it.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "udp_core.h"
#include "udp_socket.h"

/* the state array's slots (udp-native.ts ST) */
enum {
  ST_OFF,       /* in/out: the run's length */
  ST_AVAIL,     /* in: bytes before udp_overflow (may be <= 0) */
  ST_FLUSH_AT,  /* in: bytes before UDP_FULL */
  ST_MAX_FRAME, /* in */
  ST_CHECK,     /* in: 1 when frames without <PRI> are to be checked */
  ST_DATAGRAMS, /* += */
  ST_BYTES,     /* += */
  ST_FRAMES,    /* += */
  ST_OVERFLOW,  /* += */
  ST_MARK_START,
  ST_MARK_END,
  ST_NEED,
  ST_LEN,   /* UDP_DGRAM: the datagram's length in dgram; UDP_PEER: the peer text's length in peer */
  ST_ERRNO, /* TAKE_ERROR */
  ST_LINGER_US, /* in: after a wait, how long to let datagrams gather before reading */
  ST_SIZE
};
#define TAKE_IDLE 6
#define TAKE_ERROR 7

static napi_value throwMsg(napi_env env, const char *m) {
  napi_throw_error(env, "SLUICE_ERR_NATIVE_ARGS", m);
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok || t != want) return 0;
  return 1;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  UdpSock *s = data;
  udp_close(s);
  free(s);
}

static UdpSock *handle(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static void setNum(napi_env env, napi_value o, const char *k, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, o, k, x);
}

/* open(host, port, rcvbuf): a handle; throws with what failed */
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 3) return throwMsg(env, "open: 3 arguments");
  char host[64];
  size_t hl;
  int32_t port;
  double rb;
  if (napi_get_value_string_utf8(env, a[0], host, sizeof host, &hl) != napi_ok) return throwMsg(env, "open: host (an IP address)");
  if (napi_get_value_int32(env, a[1], &port) != napi_ok || port < 0 || port > 65535) return throwMsg(env, "open: port (0..65535)");
  if (napi_get_value_double(env, a[2], &rb) != napi_ok || !(rb >= 0)) return throwMsg(env, "open: rcvbuf (bytes, 0: the system's)");
  /* the kernel doubles what it is given, as an int */
  int rcvbuf = rb > (double)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)rb;
  UdpSock *s = malloc(sizeof *s);
  if (s == NULL) return throwMsg(env, "open: out of memory");
  char err[160];
  if (udp_open(s, host, port, rcvbuf, err, sizeof err) != 0) {
    free(s);
    napi_throw_error(env, "SLUICE_ERR_SYSLOG_UDP_OPEN", err);
    return NULL;
  }
  napi_value h;
  if (napi_create_external(env, s, finalize, NULL, &h) != napi_ok) {
    udp_close(s);
    free(s);
    return throwMsg(env, "open: external");
  }
  return h;
}

/* bound(h): { address, port, family, rcvbuf, forced } */
static napi_value Bound(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 1) return throwMsg(env, "bound: a handle");
  UdpSock *s = handle(env, a[0]);
  if (s == NULL || s->fd < 0) return throwMsg(env, "bound: an open handle");
  char addr[64] = "";
  int port = 0, family = 0, rcvbuf = 0;
  if (udp_bound(s, addr, sizeof addr, &port, &family, &rcvbuf) != 0) return throwMsg(env, "bound: getsockname");
  napi_value o, x;
  napi_create_object(env, &o);
  napi_create_string_utf8(env, addr, NAPI_AUTO_LENGTH, &x);
  napi_set_named_property(env, o, "address", x);
  setNum(env, o, "port", port);
  setNum(env, o, "family", family);
  setNum(env, o, "rcvbuf", rcvbuf);
  napi_get_boolean(env, s->forced, &x);
  napi_set_named_property(env, o, "forced", x);
  return o;
}

/* st[slot] as a size within [0, max] */
static int slotSize(const double *st, int slot, size_t max, size_t *out) {
  double v = st[slot];
  if (!(v >= 0 && v <= (double)max && v == floor(v))) return 0;
  *out = (size_t)v;
  return 1;
}

/*
 * take(h, run, dgram, peer, st, timeoutMs): when no datagram is pending, read (waiting up
 * to timeoutMs for one: TAKE_IDLE when none came, TAKE_ERROR with st[ERRNO]), then
 * udp_take into run at st[OFF]; UDP_DGRAM copies the datagram into dgram, UDP_PEER the
 * peer's text into peer (st[LEN] bytes).
 */
static napi_value Take(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 6) return throwMsg(env, "take: 6 arguments");
  UdpSock *s = handle(env, a[0]);
  if (s == NULL) return throwMsg(env, "take: a handle");
  void *run, *dgram, *peer, *stp;
  size_t runN, dgramN, peerN, stN;
  if (!typed(env, a[1], napi_uint8_array, &run, &runN)) return throwMsg(env, "take: run (a Uint8Array)");
  if (!typed(env, a[2], napi_uint8_array, &dgram, &dgramN) || dgramN < UDP_SLOT) return throwMsg(env, "take: dgram (a Uint8Array of 64 KiB)");
  if (!typed(env, a[3], napi_uint8_array, &peer, &peerN) || peerN < 64) return throwMsg(env, "take: peer (a Uint8Array of 64 bytes)");
  if (!typed(env, a[4], napi_float64_array, &stp, &stN) || stN < ST_SIZE) return throwMsg(env, "take: st (a Float64Array of stateSize)");
  int32_t timeoutMs;
  if (napi_get_value_int32(env, a[5], &timeoutMs) != napi_ok) return throwMsg(env, "take: timeoutMs");
  double *st = stp;
  UdpTake t;
  memset(&t, 0, sizeof t);
  if (!slotSize(st, ST_OFF, runN, &t.off)) return throwMsg(env, "take: st[OFF] (within run)");
  if (!slotSize(st, ST_FLUSH_AT, (size_t)1 << 40, &t.flushAt)) return throwMsg(env, "take: st[FLUSH_AT]");
  if (!slotSize(st, ST_MAX_FRAME, (size_t)1 << 40, &t.maxFrame)) return throwMsg(env, "take: st[MAX_FRAME]");
  napi_value res;
  if (s->fd < 0) {
    st[ST_ERRNO] = EBADF;
    napi_create_int32(env, TAKE_ERROR, &res);
    return res;
  }
  if (s->i >= s->n) {
    double lg = st[ST_LINGER_US];
    int r = udp_read(s, timeoutMs < 0 ? 0 : timeoutMs, lg > 0 && lg < 1e6 ? (int)lg : 0);
    if (r <= 0) {
      if (r < 0) st[ST_ERRNO] = -r;
      napi_create_int32(env, r < 0 ? TAKE_ERROR : TAKE_IDLE, &res);
      return res;
    }
  }
  t.dg = s->dg;
  t.n = s->n;
  t.i = s->i;
  t.run = run;
  t.runCap = runN;
  t.checkSyslog = st[ST_CHECK] == 1;
  t.avail = st[ST_AVAIL];
  memcpy(t.cur, s->cur, UDP_PEER_LEN);
  t.hasCur = s->hasCur;
  int r = udp_take(&t);
  s->i = t.i;
  memcpy(s->cur, t.cur, UDP_PEER_LEN);
  s->hasCur = t.hasCur;
  st[ST_OFF] = (double)t.off;
  st[ST_DATAGRAMS] += (double)t.datagrams;
  st[ST_BYTES] += (double)t.bytes;
  st[ST_FRAMES] += (double)t.frames;
  st[ST_OVERFLOW] += (double)t.overflow;
  if (r == UDP_CHECK) {
    st[ST_MARK_START] = (double)t.markStart;
    st[ST_MARK_END] = (double)t.markEnd;
  } else if (r == UDP_ROOM) {
    st[ST_NEED] = (double)t.need;
  } else if (r == UDP_DGRAM) {
    const UdpDgram *d = &s->dg[t.i - 1];
    memcpy(dgram, d->data, d->len);
    st[ST_LEN] = (double)d->len;
  } else if (r == UDP_PEER) {
    st[ST_LEN] = (double)udp_peer_text(s->cur, peer, peerN);
  }
  napi_create_int32(env, r, &res);
  return res;
}

/* close(h): the socket is closed (a pending read answers TAKE_ERROR EBADF) */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 1) return throwMsg(env, "close: a handle");
  UdpSock *s = handle(env, a[0]);
  if (s == NULL) return throwMsg(env, "close: a handle");
  udp_close(s);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor d[] = {
    {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
    {"bound", NULL, Bound, NULL, NULL, NULL, napi_default, NULL},
    {"take", NULL, Take, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
  napi_value x;
  napi_create_int32(env, ST_SIZE, &x);
  napi_set_named_property(env, exports, "stateSize", x);
  napi_create_int32(env, UDP_VLEN, &x);
  napi_set_named_property(env, exports, "vlen", x);
  return exports;
}
