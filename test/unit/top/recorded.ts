/** Recorded data for top's tests: three intervals of a node with two pods, the host and a bare netns. */
import type { TopInterval, TopSample } from '../../../src/top/types.js';

type S = Omit<TopSample, 'delta'>;
const web: S = { reason: 'NO_SOCKET', function: '__udp4_lib_rcv', scope: 'pod', namespace: 'default', pod: 'web-0', netns: 4026532301 };
const webNf: S = { reason: 'NETFILTER_DROP', function: 'nft_do_chain', scope: 'pod', namespace: 'default', pod: 'web-0', netns: 4026532301 };
const db: S = { reason: 'SOCKET_RCVBUFF', function: '__udp_enqueue_schedule_skb', scope: 'pod', namespace: 'storage', pod: 'postgres-1', netns: 4026532415 };
const host: S = { reason: 'NO_SOCKET', function: 'tcp_v4_rcv', scope: 'host', namespace: null, pod: null, netns: 4026531833 };
const bare: S = { reason: 'NO_SOCKET', function: '__udp4_lib_rcv', scope: 'netns', namespace: null, pod: null, netns: 4026532999 };

export const T0 = Date.parse('2026-11-29T15:00:00.000Z');
const status = { source: 'bpftrace', lostEvents: 0, unattributed: 0, error: null };

export function recordedIntervals(): TopInterval[] {
  return [
    { endMs: T0 + 2000, intervalS: 2, status, samples: [{ ...web, delta: 40 }, { ...host, delta: 4 }] },
    { endMs: T0 + 4000, intervalS: 2, status, samples: [{ ...web, delta: 100 }, { ...webNf, delta: 10 }, { ...db, delta: 6 }, { ...bare, delta: 2 }] },
    {
      endMs: T0 + 6000,
      intervalS: 2,
      status: { ...status, lostEvents: 3, unattributed: 2 },
      samples: [{ ...web, delta: 20 }, { ...db, delta: 60, example: 'udp 10.0.0.7:5353 -> 10.0.0.9:5432 len 512', stack: ['__udp_enqueue_schedule_skb+0x1a4', 'udp_queue_rcv_one_skb+0x2c1', '__udp4_lib_rcv+0x5b0'] }, { ...host, delta: 1 }],
    },
  ];
}
