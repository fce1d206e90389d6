/**
 * The chart's PrometheusRule, rendered by real Helm, checked and unit-tested by real promtool (Debian's
 * prometheus package): `promtool check rules` on the rendered groups, and `promtool test rules` with
 * input series that fire each alert and series that stay quiet. Thresholds come from values.yaml: a
 * raised threshold makes the same test fail.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dump } from 'js-yaml';
import { helm, helmSkipReason, one, path, render } from './helpers/deploy-helm.js';

const run = promisify(execFile);
const PROMTOOL = process.env['PATH']?.split(':').map((d) => join(d, 'promtool')).find((p) => existsSync(p));
const skip = helmSkipReason() ?? (PROMTOOL === undefined ? 'no promtool (apt-get install prometheus; scripts/setup.sh --test)' : false);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations: Record<string, string>;
}

async function promtool(args: readonly string[], cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL!, args, { cwd, timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? String(err)}` };
  }
}

/** The rendered PrometheusRule's groups, and its rules by alert name. */
async function renderedRules(set: readonly string[] = []): Promise<{ groups: unknown; rules: Map<string, Rule> }> {
  const { objects } = await render({ set: ['prometheusRule.enabled=true', ...set] });
  const pr = one(objects, 'PrometheusRule');
  const groups = path(pr, 'spec.groups') as { rules: Rule[] }[];
  return { groups, rules: new Map(groups.flatMap((g) => g.rules).map((r) => [r.alert, r])) };
}

/** Fills an annotation template the way Prometheus would for these alerts ($labels.X, $value | humanize). */
function fill(template: string, labels: Record<string, string>, value: string): string {
  return template
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, l: string) => labels[l] ?? '')
    .replace(/\{\{ \$value \| humanize \}\}/g, value);
}

function expected(rules: Map<string, Rule>, alert: string, seriesLabels: Record<string, string>, value: string): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } {
  const rule = rules.get(alert);
  assert.ok(rule, `rule ${alert} rendered`);
  const labels = { ...seriesLabels, ...rule.labels };
  const annotations = Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, fill(v, labels, value)]));
  return { exp_labels: labels, exp_annotations: annotations };
}

const drops = (labels: Record<string, string>): string =>
  `kdrop_packet_drops_total{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

const overflows = (labels: Record<string, string>): string =>
  `kdrop_tcp_listen_overflows_total{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

/** promtool unit tests: per-minute samples; rates in drops/s are per-minute increments / 60. */
function testFile(rules: Map<string, Rule>): unknown {
  const pod = (ns: string, name: string, cls: string, reason: string, node: string) =>
    ({ kdrop_scope: 'pod', kdrop_reason_class: cls, kdrop_reason: reason, kdrop_function: 'f', k8s_namespace_name: ns, k8s_pod_name: name, node });
  const host = (cls: string, reason: string, node: string) => ({ kdrop_scope: 'host', kdrop_reason_class: cls, kdrop_reason: reason, kdrop_function: 'f', node });
  const rates = [
    // Pod error 5/s (> 1/s): fires per pod; its node's error total 5.5/s stays under 10/s.
    { labels: pod('default', 'web-0', 'error', 'NO_SOCKET', 'n1'), perMin: 300 },
    // Pod error 0.5/s: quiet.
    { labels: pod('default', 'db-0', 'error', 'TCP_CSUM', 'n1'), perMin: 30 },
    // Pod congestion 20/s (> 10/s): fires per pod; node n1 congestion 20/s stays under 100/s.
    { labels: pod('shop', 'cart-1', 'congestion', 'SOCKET_RCVBUFF', 'n1'), perMin: 1200 },
    // Node n2, host drops: congestion 200/s (> 100/s) and error 20/s (> 10/s) fire per node; no pod alert (scope host).
    { labels: host('congestion', 'CPU_BACKLOG', 'n2'), perMin: 12000 },
    { labels: host('error', 'IP_INNOROUTES', 'n2'), perMin: 1200 },
    // Benign and policy drops at any rate: no alert.
    { labels: pod('default', 'web-0', 'benign', 'SOCKET_CLOSE', 'n1'), perMin: 60000 },
    { labels: host('policy', 'NETFILTER_DROP', 'n3'), perMin: 60000 },
  ];
  const notSpecified = (node: string) => ({ kdrop_scope: 'host', kdrop_reason_class: 'unknown', kdrop_reason: 'NOT_SPECIFIED', kdrop_function: 'f', node });
  return {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: rates.map((r) => ({ series: drops(r.labels), values: `0+${r.perMin}x40` })),
        alert_rule_test: [
          // Before `for` (10m) has passed nothing fires.
          ...['KdropPodErrorDrops', 'KdropPodCongestionDrops', 'KdropNodeErrorDrops', 'KdropNodeCongestionDrops'].map((a) => ({ eval_time: '8m', alertname: a, exp_alerts: [] })),
          { eval_time: '25m', alertname: 'KdropPodErrorDrops', exp_alerts: [expected(rules, 'KdropPodErrorDrops', { k8s_namespace_name: 'default', k8s_pod_name: 'web-0' }, '5')] },
          { eval_time: '25m', alertname: 'KdropPodCongestionDrops', exp_alerts: [expected(rules, 'KdropPodCongestionDrops', { k8s_namespace_name: 'shop', k8s_pod_name: 'cart-1' }, '20')] },
          { eval_time: '25m', alertname: 'KdropNodeErrorDrops', exp_alerts: [expected(rules, 'KdropNodeErrorDrops', { node: 'n2' }, '20')] },
          { eval_time: '25m', alertname: 'KdropNodeCongestionDrops', exp_alerts: [expected(rules, 'KdropNodeCongestionDrops', { node: 'n2' }, '200')] },
          { eval_time: '25m', alertname: 'KdropNotSpecifiedDropsGrowing', exp_alerts: [] },
        ],
      },
      {
        interval: '1m',
        input_series: [
          // n1: 1/s for two hours, then 10/s: more than 3x and above 5/s -> fires.
          { series: drops(notSpecified('n1')), values: '0+60x120 7800+600x30' },
          // n2: 4/s, then 8/s: only 2x -> quiet.
          { series: drops(notSpecified('n2')), values: '0+240x120 29040+480x30' },
          // n3: no NOT_SPECIFIED drops before, then 6/s (above 5/s) -> fires (baseline 0).
          { series: drops(notSpecified('n3')), values: '_x121 0+360x29' },
          // n4: new, but only 2/s -> quiet.
          { series: drops(notSpecified('n4')), values: '_x121 0+120x29' },
          // n5: steady 50/s all along -> quiet (no growth).
          { series: drops(notSpecified('n5')), values: '0+3000x150' },
        ],
        alert_rule_test: [
          { eval_time: '110m', alertname: 'KdropNotSpecifiedDropsGrowing', exp_alerts: [] },
          {
            eval_time: '140m',
            alertname: 'KdropNotSpecifiedDropsGrowing',
            exp_alerts: [expected(rules, 'KdropNotSpecifiedDropsGrowing', { node: 'n1' }, '10'), expected(rules, 'KdropNotSpecifiedDropsGrowing', { node: 'n3' }, '6')],
          },
        ],
      },
      {
        // Listen-queue overflows per pod (a kernel counter beside the drops): 3/s fires (> 1/s), 0.5/s and a
        // host's 50/s stay quiet.
        interval: '1m',
        input_series: [
          { series: overflows({ kdrop_scope: 'pod', k8s_namespace_name: 'shop', k8s_pod_name: 'web-0', node: 'n1' }), values: '0+180x40' },
          { series: overflows({ kdrop_scope: 'pod', k8s_namespace_name: 'shop', k8s_pod_name: 'web-1', node: 'n1' }), values: '0+30x40' },
          { series: overflows({ kdrop_scope: 'host', node: 'n2' }), values: '0+3000x40' },
        ],
        alert_rule_test: [
          { eval_time: '8m', alertname: 'KdropPodListenOverflows', exp_alerts: [] },
          { eval_time: '25m', alertname: 'KdropPodListenOverflows', exp_alerts: [expected(rules, 'KdropPodListenOverflows', { k8s_namespace_name: 'shop', k8s_pod_name: 'web-0' }, '3')] },
        ],
      },
    ],
  };
}

describe('chart PrometheusRule: promtool check rules and promtool test rules', { skip, timeout: 20 * 60_000 }, () => {
  let dir = '';
  before(async () => {
    await helm();
    dir = await mkdtemp(join(tmpdir(), 'kdrop-rules-'));
  }, { timeout: 20 * 60_000 });

  it('off by default', async () => {
    const { objects } = await render();
    assert.equal(objects.filter((o) => o.kind === 'PrometheusRule').length, 0);
  });

  it('the rendered rules pass promtool check rules', async () => {
    const { groups, rules } = await renderedRules(['prometheusRule.labels.release=prometheus']);
    assert.deepEqual([...rules.keys()].sort(), ['KdropNodeCongestionDrops', 'KdropNodeErrorDrops', 'KdropNotSpecifiedDropsGrowing', 'KdropPodCongestionDrops', 'KdropPodErrorDrops', 'KdropPodListenOverflows']);
    await writeFile(join(dir, 'rules.yaml'), dump({ groups }));
    const res = await promtool(['check', 'rules', 'rules.yaml'], dir);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /SUCCESS: 6 rules found/);
  });

  it('promtool test rules: series that fire and series that stay quiet', async () => {
    const { groups, rules } = await renderedRules();
    await writeFile(join(dir, 'rules.yaml'), dump({ groups }));
    await writeFile(join(dir, 'tests.yaml'), dump(testFile(rules)));
    const res = await promtool(['test', 'rules', 'tests.yaml'], dir);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /SUCCESS/);
  });

  it('thresholds come from values: with a higher pod error threshold the same series no longer fire', async () => {
    const { groups, rules } = await renderedRules(['prometheusRule.pod.errorDropsPerSecond=6', 'prometheusRule.nodeLabel=kubernetes_node']);
    assert.match(rules.get('KdropPodErrorDrops')?.expr ?? '', /> 6$/);
    assert.match(rules.get('KdropNodeErrorDrops')?.expr ?? '', /sum by \(kubernetes_node\)/);
    await writeFile(join(dir, 'rules.yaml'), dump({ groups }));
    await writeFile(join(dir, 'tests.yaml'), dump(testFile(rules)));
    const res = await promtool(['test', 'rules', 'tests.yaml'], dir);
    assert.notEqual(res.code, 0, 'the web-0 error alert (5/s) must not fire over a 6/s threshold');
    assert.match(res.out, /KdropPodErrorDrops/);
  });

  it('cleanup', async () => {
    await rm(dir, { recursive: true, force: true });
  });
});
