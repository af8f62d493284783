/*
 * The fuzz drivers' invariant check: CHECK(cond, fmt, ...) prints the broken
 * invariant (prefixed with FUZZ_NAME, which the driver defines before including
 * this) with its place and aborts, which libFuzzer reports as a crash and keeps
 * the input of.
 */
#ifndef SLUICE_FUZZ_CHECK_H
#define SLUICE_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                            \
  do {                                                              \
    if (!(cond)) {                                                  \
      fprintf(stderr, FUZZ_NAME ": invariant: " __VA_ARGS__);       \
      fprintf(stderr, " (%s:%d: %s)\n", __FILE__, __LINE__, #cond); \
      abort();                                                      \
    }                                                               \
  } while (0)

#endif
