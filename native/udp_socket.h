/*
 * The native UDP reader's socket (native/udp_socket.c, Linux): it opens and binds
 * the socket itself (Node's dgram does not give out its descriptor), sets a receive
 * buffer past net.core.rmem_max when it may (SO_RCVBUFFORCE, CAP_NET_ADMIN), and
 * reads up to UDP_VLEN datagrams per recvmmsg into slots of its own memory, where
 * udp_take (native/udp_core.c) consumes them. No N-API here (native/udp_binding.c).
 * Compiled with _GNU_SOURCE (recvmmsg, struct mmsghdr).
 */
#ifndef SLUICE_UDP_SOCKET_H
#define SLUICE_UDP_SOCKET_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "udp_core.h"

/* datagrams per recvmmsg (rsyslog's imudp reads 32) */
#define UDP_VLEN 64
/* a slot holds the largest UDP payload (65,507 bytes over IPv4, 65,527 over IPv6) */
#define UDP_SLOT 65536

typedef struct {
  int fd;
  uint8_t *slots;
  UdpDgram dg[UDP_VLEN];
  struct mmsghdr hdr[UDP_VLEN];
  struct iovec iov[UDP_VLEN];
  struct sockaddr_storage from[UDP_VLEN];
  size_t n, i; /* datagrams read, the next one to take */
  uint8_t cur[UDP_PEER_LEN];
  int hasCur;
  int forced; /* the receive buffer was set with SO_RCVBUFFORCE */
} UdpSock;

/* Open and bind host (an IPv4 or IPv6 literal):port with a receive buffer of rcvbuf bytes
   (0: the system's); 0, or -errno with what failed in err. */
int udp_open(UdpSock *s, const char *host, int port, int rcvbuf, char *err, size_t errLen);
/* The bound address (text into addr), port and family (4 or 6); the effective receive buffer. */
int udp_bound(const UdpSock *s, char *addr, size_t addrLen, int *port, int *family, int *rcvbuf);
/* Read what is queued, waiting up to timeoutMs for the first datagram and then lingerUs more (at most
   the timeout) for others to come: the count, 0 when none came, -errno. */
int udp_read(UdpSock *s, int timeoutMs, int lingerUs);
/* The peer bytes as "ip:port" ("[v6]:port"); its length. */
size_t udp_peer_text(const uint8_t *peer, char *out, size_t outLen);
void udp_close(UdpSock *s);

#endif
