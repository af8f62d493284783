/*
 * The native UDP reader's socket: open, bind, recvmmsg into its own slots
 * (native/udp_socket.h). One UdpSock is used by one thread at a time (the
 * listener's receiver thread).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "udp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fail(char *err, size_t errLen, const char *what, int e) {
  snprintf(err, errLen, "%s: %s", what, strerror(e));
  return -e;
}

int udp_open(UdpSock *s, const char *host, int port, int rcvbuf, char *err, size_t errLen) {
  memset(s, 0, sizeof *s);
  s->fd = -1;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int family;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    family = AF_INET;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    len = sizeof *a6;
  } else {
    snprintf(err, errLen, "not an IP address: %s", host);
    return -EINVAL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(err, errLen, "socket", errno);
  if (rcvbuf > 0) {
    /* past net.core.rmem_max only with CAP_NET_ADMIN (as rsyslog's imudp does); else capped by it */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) == 0) s->forced = 1;
    else if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
      int e = errno;
      close(fd);
      return fail(err, errLen, "setsockopt SO_RCVBUF", e);
    }
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    int e = errno;
    close(fd);
    return fail(err, errLen, "bind", e);
  }
  s->slots = malloc((size_t)UDP_VLEN * UDP_SLOT);
  if (s->slots == NULL) {
    close(fd);
    return fail(err, errLen, "malloc", ENOMEM);
  }
  for (int k = 0; k < UDP_VLEN; k++) {
    s->iov[k].iov_base = s->slots + (size_t)k * UDP_SLOT;
    s->iov[k].iov_len = UDP_SLOT;
    s->hdr[k].msg_hdr.msg_iov = &s->iov[k];
    s->hdr[k].msg_hdr.msg_iovlen = 1;
    s->hdr[k].msg_hdr.msg_name = &s->from[k];
  }
  s->fd = fd;
  return 0;
}

int udp_bound(const UdpSock *s, char *addr, size_t addrLen, int *port, int *family, int *rcvbuf) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
  if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &a6->sin6_addr, addr, (socklen_t)addrLen);
    *port = ntohs(a6->sin6_port);
    *family = 6;
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &a4->sin_addr, addr, (socklen_t)addrLen);
    *port = ntohs(a4->sin_port);
    *family = 4;
  }
  socklen_t ol = sizeof *rcvbuf;
  if (getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, &ol) != 0) return -errno;
  return 0;
}

static void peerOf(const struct sockaddr_storage *ss, uint8_t *peer) {
  memset(peer, 0, UDP_PEER_LEN);
  uint16_t fam = ss->ss_family;
  memcpy(peer, &fam, 2);
  if (fam == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
    memcpy(peer + 2, &a6->sin6_port, 2);
    memcpy(peer + 4, &a6->sin6_addr, 16);
  } else {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
    memcpy(peer + 2, &a4->sin_port, 2);
    memcpy(peer + 4, &a4->sin_addr, 4);
  }
}

int udp_read(UdpSock *s, int timeoutMs, int lingerUs) {
  struct mmsghdr *hdr = s->hdr;
  for (int k = 0; k < UDP_VLEN; k++) {
    hdr[k].msg_hdr.msg_namelen = sizeof s->from[k];
    hdr[k].msg_hdr.msg_controllen = 0;
    hdr[k].msg_hdr.msg_flags = 0;
  }
  s->n = s->i = 0;
  if (s->fd < 0) return -EBADF;
  int r = recvmmsg(s->fd, hdr, UDP_VLEN, MSG_DONTWAIT, NULL);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && timeoutMs > 0) {
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int pr = poll(&p, 1, timeoutMs);
    if (pr < 0) return errno == EINTR ? 0 : -errno;
    if (pr == 0) return 0;
    /* woken by the first datagram: let more come, to read them in one call (a wake and two calls per
       datagram cost more than the datagram at 100k/s; the receive buffer holds far more than a linger) */
    if (lingerUs > 0) {
      if (lingerUs > timeoutMs * 1000) lingerUs = timeoutMs * 1000;
      struct timespec ts = {.tv_sec = lingerUs / 1000000, .tv_nsec = (long)(lingerUs % 1000000) * 1000};
      nanosleep(&ts, NULL);
    }
    r = recvmmsg(s->fd, hdr, UDP_VLEN, MSG_DONTWAIT, NULL);
  }
  if (r < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
  for (int k = 0; k < r; k++) {
    s->dg[k].data = s->iov[k].iov_base;
    s->dg[k].len = hdr[k].msg_len;
    peerOf(&s->from[k], s->dg[k].peer);
  }
  s->n = (size_t)r;
  return r;
}

size_t udp_peer_text(const uint8_t *peer, char *out, size_t outLen) {
  uint16_t fam, port;
  memcpy(&fam, peer, 2);
  memcpy(&port, peer + 2, 2);
  char a[INET6_ADDRSTRLEN];
  int n;
  if (fam == AF_INET6) {
    inet_ntop(AF_INET6, peer + 4, a, sizeof a);
    n = snprintf(out, outLen, "[%s]:%u", a, (unsigned)ntohs(port));
  } else {
    inet_ntop(AF_INET, peer + 4, a, sizeof a);
    n = snprintf(out, outLen, "%s:%u", a, (unsigned)ntohs(port));
  }
  return n < 0 ? 0 : (size_t)n < outLen ? (size_t)n : outLen - 1;
}

void udp_close(UdpSock *s) {
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  free(s->slots);
  s->slots = NULL;
  s->n = s->i = 0;
}
