/*
 * altgen: UDP datagrams to a closed port on loopback, alternating runs of K to 127.0.0.1 and K to ::1 (two
 * drop keys), for S seconds; prints {"sent":N}. K=1: every drop changes key, the worst case of
 * kdrop-probe's per-CPU last-key slot. Not a bench scenario: used through bench/probe-ab.sh,
 * `GEN='dist/bench/altgen 1' bench/probe-ab.sh ...` after `gcc -O2 -o dist/bench/altgen bench/altgen.c`.
 *
 *   altgen K SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
int main(int argc, char **argv) {
  if (argc != 3 || atoi(argv[1]) < 1 || atoi(argv[1]) > 64) {
    fprintf(stderr, "usage: altgen K(1-64) SECONDS\n");
    return 2;
  }
  int k = atoi(argv[1]); double secs = atof(argv[2]);
  int s4 = socket(AF_INET, SOCK_DGRAM, 0), s6 = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(9) }; a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  char buf[16] = {0};
  struct mmsghdr m4[64], m6[64]; struct iovec iov = { buf, sizeof buf };
  for (int i = 0; i < 64; i++) {
    memset(&m4[i], 0, sizeof m4[i]); memset(&m6[i], 0, sizeof m6[i]);
    m4[i].msg_hdr.msg_iov = &iov; m4[i].msg_hdr.msg_iovlen = 1; m4[i].msg_hdr.msg_name = &a4; m4[i].msg_hdr.msg_namelen = sizeof a4;
    m6[i].msg_hdr.msg_iov = &iov; m6[i].msg_hdr.msg_iovlen = 1; m6[i].msg_hdr.msg_name = &a6; m6[i].msg_hdr.msg_namelen = sizeof a6;
  }
  struct timespec t0, t; clock_gettime(CLOCK_MONOTONIC, &t0);
  long long sent = 0;
  for (;;) {
    for (int r = 0; r < 64; r++) { int a = sendmmsg(s4, m4, k, 0); int b = sendmmsg(s6, m6, k, 0); sent += (a > 0 ? a : 0) + (b > 0 ? b : 0); }
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 >= secs) break;
  }
  printf("{\"sent\":%lld}\n", sent);
  return 0;
}
