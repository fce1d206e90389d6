/** `kdrop explain ListenOverflows` (and every other kernel drop counter kdrop reads beside kfree_skb). */
import { lookupCounter, type CounterInfo } from '../enrich/counter-catalog.js';
import { counterMetricKey } from '../aggregate/counter-series.js';
import { CounterMetric } from '../export/metric-names.js';

const metricOf = (c: CounterInfo): string => (CounterMetric as Record<string, { name: string } | undefined>)[counterMetricKey(c)]?.name ?? '';

const SOURCE: Record<CounterInfo['file'], string> = {
  netstat: '/proc/PID/net/netstat (TcpExt), per network namespace',
  dev: '/proc/PID/net/dev (the drop columns), per network namespace and interface',
  conntrack: '/proc/PID/net/stat/nf_conntrack (summed over CPUs), per network namespace',
  nic: '/sys/class/net/DEV/statistics, physical NICs of the node',
  qstats: 'the netdev netlink family\'s queue stats (qstats-get, device totals; kdrop-probe --qstats), physical NICs of the node, where the kernel (6.10+) and the driver report it',
};

/** Writes the explanation and returns true when the query names a counter; false otherwise. */
export function explainCounter(query: string, json: boolean, out: NodeJS.WritableStream): boolean {
  const found = lookupCounter(query);
  if (found.length === 0) return false;
  for (const c of found) {
    if (json) {
      out.write(`${JSON.stringify({ name: c.counter, kind: 'counter', source: c.file, read_from: SOURCE[c.file], metric: metricOf(c), meaning: c.meaning, counted_in: c.countedIn, check: c.check })}\n`);
      continue;
    }
    out.write(
      [
        `${c.counter} (kernel counter, not a drop reason)`,
        `  read from:  ${SOURCE[c.file]}`,
        `  metric:     ${metricOf(c)}`,
        `  meaning:    ${c.meaning}`,
        `  counted in: ${c.countedIn}`,
        '  check next:',
        ...c.check.map((x) => `    - ${x}`),
        '',
      ].join('\n'),
    );
  }
  return true;
}
