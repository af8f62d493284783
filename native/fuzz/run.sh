#!/usr/bin/env bash
# npm run fuzz: build the fuzz drivers over the native cores with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer (clang; Debian: clang and libclang-rt-14-dev): native/fuzz/fuzz_udp.c
# over the UDP reader's core (native/udp_core.c), fuzzed first for FUZZ_UDP_SECONDS,
# native/fuzz/fuzz_relay.c over the relay scan's core (native/relay_core.c) for FUZZ_RELAY_SECONDS, then
# native/fuzz/fuzz_core.c over the native writer's core, with its seed corpus (native/fuzz/seeds.ts:
# the bench lines, the differential suite's edge lines, lines near 64 KiB), for FUZZ_SECONDS.
#
#   FUZZ_SECONDS=300   how long the writer's core is fuzzed (default 300; CI runs 45)
#   FUZZ_UDP_SECONDS   how long the UDP reader's core is fuzzed (default a fifth of FUZZ_SECONDS, at least 10)
#   FUZZ_RELAY_SECONDS how long the relay scan's core is fuzzed (default a fifth of FUZZ_SECONDS, at least 10)
#   FUZZ_RUNS=N        stop after N inputs instead (with FUZZ_SECONDS as a bound)
#   FUZZ_DIR=.tmp/fuzz the build, the corpus it grows (kept between runs), crash artifacts
#   FUZZ_JOBS=1        parallel fuzzing processes (libFuzzer -fork)
#   FUZZ_MAX_LEN=70000 libFuzzer's -max_len (a smaller one runs more inputs per second; one
#                      input in 16 still stretches its first line to ~64 KiB)
#   CC=clang           the compiler (needs -fsanitize=fuzzer)
# Any sanitizer report or broken invariant stops the run with a non-zero status and leaves the
# input in $FUZZ_DIR/artifacts/ (replay: $FUZZ_DIR/fuzz_core <file>, fuzz_udp for an udp- one,
# fuzz_relay for a relay- one).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-300}
dir=${FUZZ_DIR:-.tmp/fuzz}
jobs=${FUZZ_JOBS:-1}
maxlen=${FUZZ_MAX_LEN:-70000}
cc=${CC:-clang}
mkdir -p "$dir/corpus" "$dir/seeds" "$dir/artifacts"

# The tables the addon builds with: native/tables.gen.h when an install generated it, else the
# committed native/tables.h (fastparse_core.h picks, as for the addon). Asserts stay on (no NDEBUG).
# Only the core is coverage-instrumented (fuzzer-no-link): the driver's own checking loops would
# otherwise take most of the time in libFuzzer's comparison tracing.
san=(-fsanitize=address,undefined -fno-sanitize-recover=all)
cflags=(-std=gnu11 -g -O2 -fno-omit-frame-pointer -Wall -Wextra -Werror -Inative)
"$cc" "${cflags[@]}" "${san[@]}" -fsanitize=fuzzer-no-link -c native/fastparse_core.c -o "$dir/fastparse_core.o"
"$cc" "${cflags[@]}" "${san[@]}" -c native/fuzz/fuzz_core.c -o "$dir/fuzz_core.o"
"$cc" "${san[@]}" -fsanitize=fuzzer "$dir/fuzz_core.o" "$dir/fastparse_core.o" -lm -o "$dir/fuzz_core"
"$cc" "${cflags[@]}" "${san[@]}" -fsanitize=fuzzer-no-link -c native/udp_core.c -o "$dir/udp_core.o"
"$cc" "${cflags[@]}" "${san[@]}" -c native/fuzz/fuzz_udp.c -o "$dir/fuzz_udp.o"
"$cc" "${san[@]}" -fsanitize=fuzzer "$dir/fuzz_udp.o" "$dir/udp_core.o" -o "$dir/fuzz_udp"

# the relay scan's core includes the generated tables (its level labels), as the writer's does, and
# takes its date arithmetic from the writer's core
"$cc" "${cflags[@]}" "${san[@]}" -fsanitize=fuzzer-no-link -c native/relay_core.c -o "$dir/relay_core.o"
"$cc" "${cflags[@]}" "${san[@]}" -c native/fuzz/fuzz_relay.c -o "$dir/fuzz_relay.o"
"$cc" "${san[@]}" -fsanitize=fuzzer "$dir/fuzz_relay.o" "$dir/relay_core.o" "$dir/fastparse_core.o" -lm -o "$dir/fuzz_relay"

node --import tsx native/fuzz/seeds.ts "$dir/seeds" "$dir/lines.dict"

args=(-max_len="$maxlen" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 -dict="$dir/lines.dict"
  -max_total_time="$secs" -artifact_prefix="$dir/artifacts/")
if [ -n "${FUZZ_RUNS:-}" ]; then args+=(-runs="$FUZZ_RUNS"); fi
if [ "$jobs" -gt 1 ]; then args+=(-fork="$jobs"); fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
udp_secs=${FUZZ_UDP_SECONDS:-$((secs / 5 > 10 ? secs / 5 : 10))}
mkdir -p "$dir/corpus-udp" "$dir/seeds-udp"
# seeds (fuzz_udp.c: config byte, hold byte, then datagrams of a peer byte, a 2-byte length, the bytes):
# two peers with a frame, one without <PRI>, one with a LF inside; a frame past a 64-byte run
printf '\045\005\000\013\000<13>hello\r\n\001\012\000plain text\000\016\000<13>a\n<13>b\r\n' >"$dir/seeds-udp/peers"
printf '\032\005\002\120\000<134>1 2026-12-06T01:02:03Z host app - - - a message longer than the first run.' >"$dir/seeds-udp/room"
udp_args=(-max_len=70000 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 -max_total_time="$udp_secs" -artifact_prefix="$dir/artifacts/udp-")
if [ -n "${FUZZ_RUNS:-}" ]; then udp_args+=(-runs="$FUZZ_RUNS"); fi
echo "fuzz: $dir/fuzz_udp ${udp_args[*]} $dir/corpus-udp $dir/seeds-udp"
"$dir/fuzz_udp" "${udp_args[@]}" "$dir/corpus-udp" "$dir/seeds-udp"

relay_secs=${FUZZ_RELAY_SECONDS:-$((secs / 5 > 10 ? secs / 5 : 10))}
mkdir -p "$dir/corpus-relay" "$dir/seeds-relay"
# seeds (fuzz_relay.c: a block-size byte, then lines): wire records as the wire writer writes them, one
# with a number only JS can judge, and one with a key twice
{
  printf '\003{"seq":42,"time":"2024-06-01T12:39:51.491Z","source":"app","stream":"app","origin":{"kind":"file","path":"/var/log/a.log"},"level":"warn","message":"h\\u0001\\"x","fields":{"a":[1,2.5,{"b":null}],"c":true}}\n'
  printf '{"seq":0,"time":"0000-01-01T00:00:00.000Z","source":"","stream":"s","origin":{},"host":"h","app":"a","message":"","fields":{"t":1717245591.4912128}}\n'
  printf '{"seq":7,"time":"9999-12-31T23:59:59.999Z","source":"a","stream":"a","origin":{"k":1,"k":2},"message":"m","fields":{}}'
} >"$dir/seeds-relay/wire"
relay_args=(-max_len=70000 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 -max_total_time="$relay_secs" -artifact_prefix="$dir/artifacts/relay-")
if [ -n "${FUZZ_RUNS:-}" ]; then relay_args+=(-runs="$FUZZ_RUNS"); fi
echo "fuzz: $dir/fuzz_relay ${relay_args[*]} $dir/corpus-relay $dir/seeds-relay"
"$dir/fuzz_relay" "${relay_args[@]}" "$dir/corpus-relay" "$dir/seeds-relay"

echo "fuzz: $dir/fuzz_core ${args[*]} $dir/corpus $dir/seeds"
exec "$dir/fuzz_core" "${args[@]}" "$dir/corpus" "$dir/seeds"
