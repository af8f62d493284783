/*
 * What the fuzz drivers share (each defines FUZZ_NAME before including this):
 *
 * - CHECK(cond, fmt, ...) prints the broken invariant, prefixed with FUZZ_NAME,
 *   with its place, and aborts, which libFuzzer reports as a crash and keeps
 *   the input of;
 * - built with -DFUZZ_STANDALONE (any C compiler with sanitizers, e.g. gcc, no
 *   libFuzzer), a main that replays each file named on the command line as one
 *   input.
 */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stdint.h>
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

#ifdef FUZZ_STANDALONE
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (f == NULL) {
      perror(argv[i]);
      return 2;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
      if (len == cap) {
        cap = cap * 2 + 65536;
        uint8_t *more = realloc(buf, cap);
        if (more == NULL) abort();
        buf = more;
      }
      size_t r = fread(buf + len, 1, cap - len, f);
      if (r == 0) break;
      len += r;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
  }
  printf(FUZZ_NAME ": %d inputs replayed\n", argc - 1);
  return 0;
}
#endif

#endif
