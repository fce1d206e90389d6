import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeDrops } from '../../../src/kubectl/cluster-feed.js';
import type { AgentResult } from '../../../src/kubectl/fanout.js';
import type { AgentPod } from '../../../src/kubectl/agents.js';
import type { DropsApiDocument } from '../../../src/agent/drops-api.js';
import { TopModel } from '../../../src/top/model.js';
import { screenLines } from '../../../src/top/layout.js';
import { dropsDoc } from './fake-apiserver.js';
import { agentFromPod, agentProxyPath } from '../../../src/kubectl/agents.js';

const pod = (node: string): AgentPod => ({ namespace: 'kdrop-system', name: `kdrop-${node}`, node, phase: 'Running', ready: true, port: 9464, scheme: 'http' });
const ok = (node: string, doc: DropsApiDocument): AgentResult<DropsApiDocument> => ({ agent: pod(node), ok: true, value: doc });

test('same pod on two nodes stays two series; series top cannot tell apart are summed (totals = /metrics sums)', () => {
  const merged = mergeDrops(
    [
      ok('a', dropsDoc('a', 1, [['ns', 'web', 'NO_SOCKET', 'f', 10, 4, 'ipv4'], ['ns', 'web', 'NO_SOCKET', 'f', 6, 2, 'ipv6']])),
      ok('b', dropsDoc('b', 9, [['ns', 'web', 'NO_SOCKET', 'f', 1, 1]])),
    ],
    new Map(),
    undefined,
    0,
  );
  assert.deepEqual(
    merged.samples.map((s) => [s.node, s.pod, s.delta, s.total]),
    [
      ['a', 'web', 6, 16],
      ['b', 'web', 1, 1],
    ],
  );
  const m = new TopModel();
  m.ingest(merged);
  assert.deepEqual(m.rows({ groupBy: 'pod', sortBy: 'total', filter: '' }).map((r) => [r.key, r.total, r.nodes]), [['ns/web', 17, ['a', 'b']]]);
  assert.deepEqual(m.rows({ groupBy: 'node', sortBy: 'total', filter: '' }).map((r) => [r.key, r.total]), [['a', 16], ['b', 1]]);
});

test('an agent whose interval did not move adds no deltas again; a failed one is listed with its node', () => {
  const seen = new Map<string, number>();
  const doc = dropsDoc('a', 3, [['ns', 'web', 'NO_SOCKET', 'f', 10, 4]]);
  assert.equal(mergeDrops([ok('a', doc)], seen, undefined, 0).samples.length, 1);
  const again = mergeDrops([ok('a', doc), { agent: pod('b'), ok: false, failure: { kind: 'timeout', why: 'timeout after 3s' } }], seen, undefined, 0);
  assert.deepEqual(again.samples, []);
  assert.deepEqual(again.status.agents, { total: 2, answered: 1, missing: [{ node: 'b', why: 'timeout after 3s' }] });
  assert.equal(again.intervalS, 5);
  const none = mergeDrops([{ agent: pod('b'), ok: false, failure: { kind: 'refused', why: 'connection refused' } }], new Map(), undefined, 7);
  assert.equal(none.status.error, 'no agent answered');
  assert.equal(none.endMs, 7);
});

test('agent pods: the metrics port, https from the scheme annotation or an https* port name, the proxy path', () => {
  const base = { metadata: { name: 'kdrop-x', namespace: 'kdrop-system' }, spec: { nodeName: 'n1', containers: [{ ports: [{ name: 'metrics', containerPort: 9500 }] }] }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
  const plain = agentFromPod(base)!;
  assert.deepEqual([plain.port, plain.scheme, plain.ready, plain.node], [9500, 'http', true, 'n1']);
  assert.equal(agentProxyPath(plain, '/api/v1/drops'), '/api/v1/namespaces/kdrop-system/pods/kdrop-x:9500/proxy/api/v1/drops');
  const tls = agentFromPod({ ...base, metadata: { ...base.metadata, annotations: { 'kdrop.dev/scheme': 'https' } } })!;
  assert.equal(agentProxyPath(tls, '/api/v1/samples?pod=a%2Fb'), '/api/v1/namespaces/kdrop-system/pods/https:kdrop-x:9500/proxy/api/v1/samples?pod=a%2Fb');
  assert.equal(agentFromPod({ ...base, spec: { containers: [{ ports: [{ name: 'https-metrics', containerPort: 8443 }] }] } })!.scheme, 'https');
  assert.equal(agentFromPod({ metadata: {} }), null);
});

test('full-screen view: a NODE column and the agents that did not answer in the status line', () => {
  const m = new TopModel();
  m.ingest(mergeDrops([ok('node-a', dropsDoc('node-a', 1, [['ns', 'web', 'NO_SOCKET', 'f', 10, 4]])), { agent: pod('node-b'), ok: false, failure: { kind: 'timeout', why: 'timeout after 3s' } }], new Map(), undefined, 0));
  const rows = m.rows({ groupBy: 'pod', sortBy: 'rate', filter: '' });
  const lines = screenLines({ width: 100, height: 10, rows, status: m.status(), groupBy: 'pod', sortBy: 'rate', filter: '', filterEditing: false, selected: 0, paused: false, help: false, detail: null, intervals: 1, intervalS: 5, updated: null });
  assert.match(lines[1]!.text, /^ POD +NODE +RATE\/s +TOTAL/);
  assert.match(lines[2]!.text, /^>ns\/web +node-a +0\.8 +10/);
  const status = lines.at(-2)!;
  assert.equal(status.kind, 'warn');
  assert.match(status.text, /agents 1\/2 \(not answering: node-b: timeout after 3s\)/);
});
