/*
 * The native twin of src/sources/records/relay.ts's scan: is a line a Sluice
 * wire record exactly as the wire writer writes it, and where are its parts?
 * Pure C, no N-API (native/binding.c calls it; native/fuzz/fuzz_relay.c fuzzes
 * it). It reads the caller's bytes during the call only and writes only into
 * the caller's result arrays, within the counts given.
 */
#ifndef SLUICE_RELAY_CORE_H
#define SLUICE_RELAY_CORE_H

#include <stddef.h>
#include <stdint.h>

/* The int32 slots of one line's result (relay.ts RELAY_SLOTS mirrors them). */
enum {
  RL_START = 0, /* the line's first byte */
  RL_END,       /* its '\n' (or the bytes' end) */
  RL_SEQ_END,   /* after the seq's digits; -1: not a wire record to relay; -2: JS decides (a number it cannot) */
  RL_T1,        /* the time's closing quote */
  RL_O1,        /* after the origin object */
  RL_M0,        /* the message's opening quote */
  RL_M1,        /* after the message's closing quote */
  RL_LEVEL,     /* the level's code (0: none) */
  RL_SLOTS
};

/* Objects and arrays nested deeper than this are left to JS (relay.ts MAX_DEPTH). */
#define RL_MAX_DEPTH 32
/* Objects with more keys than this are left to JS (relay.ts MAX_KEYS). */
#define RL_MAX_KEYS 64

/*
 * Scan the lines of b[pos, n) (each ended by '\n' or by n), at most maxLines of them:
 * line i's slots at out[i * RL_SLOTS], its time (epoch ms) at times[i] when it is a
 * record to relay. Returns the number of lines scanned; the next line starts after
 * the last one's RL_END. `n` must be below 2^31. `b` must be valid UTF-8 (the caller
 * checks): a byte of a multi-byte character is never a quote or a backslash.
 */
size_t relay_scan_lines(const uint8_t *b, size_t n, size_t pos, int32_t *out, double *times, size_t maxLines);

#endif
