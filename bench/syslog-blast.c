/*
 * The syslog bench's UDP sender (bench/syslog.ts compiles it with cc when one is
 * there, else it falls back to bench/syslog-send.ts): RFC 5424 datagrams paced at
 * RATE per second for SECONDS with sendmmsg, 64 per call, so the asked rate is
 * reached on a small machine (a Node sender reached 20k-47k/s of 100k there).
 *
 *   syslog-blast PORT RATE SECONDS     prints {"done":true,"sent":N,"achievedRate":R}
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: syslog-blast PORT RATE SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]); long rate = atol(argv[2]); double secs = atof(argv[3]);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
  connect(s, (struct sockaddr *)&a, sizeof a);
  char msg[256]; int n = snprintf(msg, sizeof msg, "<134>1 2026-12-06T01:02:03.123Z web-1.example.net nginx 1000 ACCESS [req@32473 id=\"1\" src_ip=\"10.1.2.3\" status=\"200\"] accepted connection from user session opened seq=0000000001");
  struct mmsghdr v[64]; struct iovec io[64];
  for (int i = 0; i < 64; i++) { io[i].iov_base = msg; io[i].iov_len = n; memset(&v[i], 0, sizeof v[i]); v[i].msg_hdr.msg_iov = &io[i]; v[i].msg_hdr.msg_iovlen = 1; }
  long total = (long)(rate * secs), sent = 0; struct timespec t0, t; clock_gettime(CLOCK_MONOTONIC, &t0);
  while (sent < total) {
    clock_gettime(CLOCK_MONOTONIC, &t); double el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
    long due = (long)(el * rate); if (due > total) due = total;
    while (sent < due) { int k = due - sent > 64 ? 64 : due - sent; int r = sendmmsg(s, v, k, 0); if (r > 0) sent += r; else break; }
    usleep(200);
  }
  clock_gettime(CLOCK_MONOTONIC, &t); double el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
  printf("{\"done\":true,\"sent\":%ld,\"achievedRate\":%.0f}\n", sent, sent / el); return 0;
}
