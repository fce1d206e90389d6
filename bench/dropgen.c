/*
 * dropgen: drives UDP datagrams to a closed port on loopback as fast as one core can, for a fixed count
 * or time, and reports exactly how many it sent (each one becomes one NO_SOCKET drop in the kernel).
 *
 *   dropgen [--count N] [--seconds S] [--port P] [--size B] [--family 4|6] [--batch K] [--lo-up 1]
 *
 * --lo-up 1 brings the loopback interface up first (a fresh namespace from `unshare --net` has it down;
 * for hosts without iproute2).
 *
 * Prints one JSON line: {"sent":N,"seconds":S,"rate":R,"errors":E,"cpu_s":C}. Unconnected sendmmsg(2), so
 * ICMP port-unreachable replies never turn into send errors. cpu_s is the process's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID): on loopback the receive path, drop and tracing included, runs in the
 * sender's context, so drops per CPU second measure the per-drop cost even when a shared machine takes
 * the core away now and then (which only lowers the wall-clock rate).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  long long count = 0;
  double seconds = 0;
  int port = 9, size = 16, family = 4, batch = 64, lo_up = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--count")) count = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--family")) family = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--lo-up")) lo_up = atoi(argv[i + 1]);
    else { fprintf(stderr, "dropgen: unknown option %s\n", argv[i]); return 2; }
  }
  if ((count <= 0 && seconds <= 0) || size < 0 || size > 65000 || batch < 1 || batch > 1024 || (family != 4 && family != 6)) {
    fprintf(stderr, "dropgen: expected --count N>0 or --seconds S>0, --size 0..65000, --batch 1..1024, --family 4|6\n");
    return 2;
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  if (lo_up) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) { perror("SIOCGIFFLAGS lo"); return 1; }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) { perror("SIOCSIFFLAGS lo"); return 1; }
  }
  struct sockaddr_storage dst;
  socklen_t dlen;
  memset(&dst, 0, sizeof dst);
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&dst;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    dlen = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&dst;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dlen = sizeof *a;
  }
  char *buf = calloc(1, size > 0 ? size : 1);
  struct mmsghdr *msgs = calloc(batch, sizeof *msgs);
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)size};
  for (int i = 0; i < batch; i++) {
    msgs[i].msg_hdr.msg_name = &dst;
    msgs[i].msg_hdr.msg_namelen = dlen;
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long long sent = 0, errors = 0;
  double start = now(), deadline = seconds > 0 ? start + seconds : 0, cpu_start = cpu_now();
  for (;;) {
    if (count > 0 && sent >= count) break;
    if (deadline > 0 && (sent & 0x3ff) < (unsigned)batch && now() >= deadline) break;
    int n = batch;
    if (count > 0 && count - sent < n) n = (int)(count - sent);
    int r = sendmmsg(fd, msgs, n, 0);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED) { errors++; continue; }
      perror("sendmmsg");
      break;
    }
    sent += r;
  }
  double el = now() - start, cpu = cpu_now() - cpu_start;
  printf("{\"sent\":%lld,\"seconds\":%.6f,\"rate\":%.1f,\"errors\":%lld,\"cpu_s\":%.6f}\n", sent, el, el > 0 ? sent / el : 0.0, errors, cpu);
  return 0;
}
