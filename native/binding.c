/*
 * The N-API binding of the native writer (src/parse/native.ts loads it): it only
 * converts each call's JS arguments into an FpCall for the core
 * (native/fastparse_core.c), calls it, and writes its results back into the state
 * array. Every typed array is looked up again on each call and used during that
 * call only: nothing here or in the core keeps a pointer into JS memory between
 * calls (V8 may free or move a buffer as soon as the call returns).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <math.h>
#include <stdint.h>

#define FP_BINDING_TABLES 1
#include "fastparse_core.h"
#include "relay_core.h"

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok || t != want) return 0;
  if (*len == 0) *data = NULL; /* an empty array's data pointer means nothing */
  return 1;
}

static napi_value throwMsg(napi_env env, const char *m) {
  napi_throw_error(env, "SLUICE_ERR_NATIVE_ARGS", m);
  return NULL;
}

/* st[slot] as a size, when it is an integer in [0, max] */
static int slotSize(const double *st, int slot, size_t max, size_t *out) {
  double v = st[slot];
  if (!(v >= 0 && v <= (double)max && v == floor(v))) return 0;
  *out = (size_t)v;
  return 1;
}

static size_t minSize(size_t a, size_t b) { return a < b ? a : b; }

/*
 * step(region, out, ends, msg, times, levels, mid, st): render region[st[POS]..] into
 * out at st[OFF] and the per-record arrays at st[IDX]; 0 done, 1 a line for JS
 * (st[BAIL_START..BAIL_END)), 2 more room needed (st[NEED] bytes, or a record slot).
 */
static napi_value Step(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 8) return throwMsg(env, "step: 8 arguments");
  void *region, *out, *ends, *msg, *times, *levels, *mid, *stp;
  size_t regionN, outN, endsN, msgN, timesN, levelsN, midN, stN;
  if (!typed(env, a[0], napi_uint8_array, &region, &regionN)) return throwMsg(env, "step: region (a Uint8Array)");
  if (!typed(env, a[1], napi_uint8_array, &out, &outN) || outN > UINT32_MAX) return throwMsg(env, "step: out (a Uint8Array under 4 GiB)");
  if (!typed(env, a[2], napi_uint32_array, &ends, &endsN)) return throwMsg(env, "step: ends (a Uint32Array)");
  if (!typed(env, a[3], napi_uint32_array, &msg, &msgN) || msgN < 2 * endsN) return throwMsg(env, "step: msg (a Uint32Array, twice ends)");
  if (!typed(env, a[4], napi_float64_array, &times, &timesN) || timesN < endsN) return throwMsg(env, "step: times (a Float64Array, as long as ends)");
  if (!typed(env, a[5], napi_uint8_array, &levels, &levelsN) || levelsN < endsN) return throwMsg(env, "step: levels (a Uint8Array, as long as ends)");
  if (!typed(env, a[6], napi_uint8_array, &mid, &midN)) return throwMsg(env, "step: mid (a Uint8Array)");
  if (!typed(env, a[7], napi_float64_array, &stp, &stN) || stN < FP_ST_SIZE) return throwMsg(env, "step: st (a Float64Array of stateSize)");
  double *st = stp;
  FpCall c = {0};
  c.region = region;
  c.regionLen = regionN;
  c.out = out;
  c.outCap = outN;
  c.ends = ends;
  c.msg = msg;
  c.times = times;
  c.levels = levels;
  c.recCap = minSize(endsN, minSize(msgN / 2, minSize(timesN, levelsN)));
  c.mid = mid;
  c.midLen = midN;
  size_t format, seqDigits;
  if (!slotSize(st, FP_ST_POS, regionN, &c.pos)) return throwMsg(env, "step: st[POS] (within region)");
  if (!slotSize(st, FP_ST_OFF, outN, &c.off)) return throwMsg(env, "step: st[OFF] (within out)");
  if (!slotSize(st, FP_ST_IDX, c.recCap, &c.idx)) return throwMsg(env, "step: st[IDX] (within ends)");
  if (!slotSize(st, FP_ST_FORMAT, FP_FORMAT_PLAIN, &format)) return throwMsg(env, "step: st[FORMAT] (a FORMAT_CODE)");
  if (!slotSize(st, FP_ST_SEQDIGITS, 32, &seqDigits)) return throwMsg(env, "step: st[SEQDIGITS] (0..32)");
  double ml = st[FP_ST_MAXLINE];
  c.maxLine = ml >= 0 && ml < (double)FP_MAX_LINE ? (size_t)ml : FP_MAX_LINE;
  c.now = st[FP_ST_NOW];
  c.format = (int)format;
  c.utc = st[FP_ST_UTC] == 1;
  c.seqDigits = (int)seqDigits;
  int r = fp_step(&c);
  if (r == FP_STEP_EINVAL) return throwMsg(env, "step: state out of range");
  st[FP_ST_POS] = (double)c.pos;
  st[FP_ST_OFF] = (double)c.off;
  st[FP_ST_IDX] = (double)c.idx;
  if (r == FP_STEP_BAIL) {
    st[FP_ST_BAIL_START] = (double)c.bailStart;
    st[FP_ST_BAIL_END] = (double)c.bailEnd;
  } else if (r == FP_STEP_ROOM) {
    st[FP_ST_NEED] = (double)c.need;
  }
  for (int k = 0; k < FP_NCOUNTERS; k++) st[FP_COUNTER_SLOT[k]] += c.counted[k];
  st[FP_ST_LINES] += c.lines;
  napi_value res;
  napi_create_int32(env, r, &res);
  return res;
}

/* count(bytes): the number of '\n' */
static napi_value Count(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  void *p;
  size_t n;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 1 || !typed(env, a[0], napi_uint8_array, &p, &n))
    return throwMsg(env, "count: bytes (a Uint8Array)");
  napi_value out;
  napi_create_double(env, (double)(n == 0 ? 0 : fp_count_newlines(p, n)), &out);
  return out;
}

/*
 * relayScan(bytes, pos, out, times): the lines of bytes[pos..] as relay_scan_lines
 * scans them, at most out.length / RL_SLOTS and times.length of them; the count.
 */
static napi_value RelayScan(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  void *bytes, *out, *times;
  size_t n, outN, timesN;
  double pos;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 4) return throwMsg(env, "relayScan: 4 arguments");
  if (!typed(env, a[0], napi_uint8_array, &bytes, &n) || n >= ((size_t)1 << 31)) return throwMsg(env, "relayScan: bytes (a Uint8Array under 2 GiB)");
  if (napi_get_value_double(env, a[1], &pos) != napi_ok || !(pos >= 0 && pos <= (double)n && pos == floor(pos))) return throwMsg(env, "relayScan: pos (within bytes)");
  if (!typed(env, a[2], napi_int32_array, &out, &outN)) return throwMsg(env, "relayScan: out (an Int32Array)");
  if (!typed(env, a[3], napi_float64_array, &times, &timesN)) return throwMsg(env, "relayScan: times (a Float64Array)");
  size_t lines = n == 0 ? 0 : relay_scan_lines(bytes, n, (size_t)pos, out, times, minSize(outN / RL_SLOTS, timesN));
  napi_value r;
  napi_create_double(env, (double)lines, &r);
  return r;
}

static void setInt(napi_env env, napi_value exports, const char *name, int v) {
  napi_value x;
  napi_create_int32(env, v, &x);
  napi_set_named_property(env, exports, name, x);
}

/* a parse worker's environment is torn down on its own thread: free that thread's scratch */
static void releaseThread(void *arg) {
  (void)arg;
  fp_thread_release();
}

NAPI_MODULE_INIT() {
  napi_add_env_cleanup_hook(env, releaseThread, NULL);
  napi_property_descriptor d[] = {
    {"step", NULL, Step, NULL, NULL, NULL, napi_default, NULL},
    {"count", NULL, Count, NULL, NULL, NULL, napi_default, NULL},
    {"relayScan", NULL, RelayScan, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
  setInt(env, exports, "stateSize", FP_ST_SIZE);
  setInt(env, exports, "abi", FP_ABI);
  setInt(env, exports, "relaySlots", RL_SLOTS);
  napi_value id;
  napi_create_string_utf8(env, FP_TABLES_ID, NAPI_AUTO_LENGTH, &id);
  napi_set_named_property(env, exports, "tables", id);
  return exports;
}
