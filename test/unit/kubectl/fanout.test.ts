/**
 * `kubectl kdrop top`'s fan-out against 200 fake agents behind a fake API server proxy: some slow, some
 * hanging, some dead (the proxy's 503 "connection refused"), one refusing itself. The number of proxied
 * requests in flight never exceeds --concurrency (counted by the server), the whole poll ends within
 * ceil(agents / concurrency) timeouts, every agent that did not answer is reported with its node and why,
 * and the merged totals equal the sum over the agents that answered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer, dropsDoc, type FakeAgent } from './fake-apiserver.js';
import { KubeApi } from '../../../src/kubectl/kube-client.js';
import { pollCluster, mergeDrops, openClusterFeed } from '../../../src/kubectl/cluster-feed.js';
import { defaultHostPaths } from '../../../src/host-paths.js';
import { topCommand } from '../../../src/commands/top-command.js';
import { topConfig } from '../../../src/config/top-config.js';
import { isKdropError, ErrorCodes } from '../../../src/errors.js';

const N = 200;
const CONCURRENCY = 16;
// Generous: answering agents must not time out on a loaded machine; the slow ones take 30 s.
const TIMEOUT_MS = 5000;
/** Which agents misbehave: deterministic by index. */
const kindOf = (i: number): 'hang' | 'slow' | 'dead' | 'agent-403' | 'ok' => (i % 50 === 7 ? 'agent-403' : i % 20 === 3 ? 'hang' : i % 20 === 11 ? 'slow' : i % 25 === 5 ? 'dead' : 'ok');

const agents: FakeAgent[] = Array.from({ length: N }, (_, i) => {
  const node = `node-${String(i).padStart(3, '0')}`;
  const k = kindOf(i);
  // Every node has drops of the same pod name in its own namespace slot, and of one shared pod
  // (default/web) spread over nodes with two network types: the merge must keep nodes apart and sum types.
  const doc = () =>
    dropsDoc(node, 3, [
      ['default', 'web', 'NO_SOCKET', '__udp4_lib_rcv', 10 + i, 2, 'ipv4'],
      ['default', 'web', 'NO_SOCKET', '__udp4_lib_rcv', 5, 1, 'ipv6'],
      [`team-${i % 4}`, `app-${i}`, 'NETFILTER_DROP', 'nft_do_chain', 100, 7],
    ]);
  const behaviour: FakeAgent['behaviour'] =
    k === 'ok' ? { kind: 'ok', doc } : k === 'slow' ? { kind: 'ok', doc, delayMs: 30_000 } : k === 'hang' ? { kind: 'hang' } : k === 'dead' ? { kind: 'dead' } : { kind: 'agent-403' };
  return { name: `kdrop-${i}`, node, behaviour };
});
const answering = agents.map((_, i) => i).filter((i) => kindOf(i) === 'ok');

const api = new FakeApiServer(agents);
let kubeconfig = '';
before(async () => {
  kubeconfig = await api.kubeconfig();
});
after(() => api.stop());

test(`${N} agents: bounded concurrency and time, every silent agent reported with its node and why`, async () => {
  const kube = KubeApi.load({ kubeconfig }, CONCURRENCY);
  let clientMax = 0;
  const t0 = Date.now();
  const results = await pollCluster(kube, { agentsNamespace: 'kdrop-system', namespace: undefined, concurrency: CONCURRENCY, timeoutMs: TIMEOUT_MS, onInFlight: (n) => (clientMax = Math.max(clientMax, n)) });
  const elapsed = Date.now() - t0;
  kube.close();
  assert.equal(results.length, N);
  assert.ok(api.maxInFlightProxy <= CONCURRENCY, `server saw ${api.maxInFlightProxy} proxied requests at once`);
  assert.ok(clientMax <= CONCURRENCY && clientMax >= CONCURRENCY / 2, `client in flight ${clientMax}`);
  // 20 agents never answer in time: without the bound the slow ones alone would take 30 s.
  const bound = Math.ceil(N / CONCURRENCY) * TIMEOUT_MS + 3000;
  assert.ok(elapsed < bound, `took ${elapsed} ms, bound ${bound} ms`);
  const byKind = new Map<string, string[]>();
  for (const [i, r] of results.entries()) {
    assert.equal(r.agent.node, agents[i]!.node);
    const kind = r.ok ? 'ok' : r.failure.kind;
    byKind.set(kind, [...(byKind.get(kind) ?? []), r.agent.node!]);
    const expected = kindOf(i);
    if (expected === 'ok') assert.ok(r.ok, `${r.agent.node}: ${r.ok ? '' : r.failure.why}`);
    else if (expected === 'hang' || expected === 'slow') assert.equal(r.ok ? 'ok' : r.failure.why, `timeout after ${TIMEOUT_MS / 1000}s`);
    else if (expected === 'dead') assert.equal(r.ok ? 'ok' : r.failure.kind, 'refused');
    else assert.equal(r.ok ? 'ok' : r.failure.why, 'HTTP 403: forbidden: not a trusted address');
  }
  assert.equal(byKind.get('ok')?.length, answering.length);

  const merged = mergeDrops(results, new Map(), undefined, 0);
  const st = merged.status.agents!;
  assert.equal(st.total, N);
  assert.equal(st.answered, answering.length);
  assert.deepEqual(
    st.missing.map((m) => m.node),
    agents.filter((_, i) => kindOf(i) !== 'ok').map((a) => a.node),
  );
  // default/web on each answering node: ipv4 and ipv6 series summed, nodes kept apart.
  const web = merged.samples.filter((s) => s.pod === 'web');
  assert.equal(web.length, answering.length);
  for (const s of web) {
    const i = Number(s.node!.slice(5));
    assert.equal(s.total, 10 + i + 5);
    assert.equal(s.delta, 3);
  }
});

test('top -A plain output: a NODE column, exact totals, and a line per agent that did not answer', async () => {
  const kube = KubeApi.load({ kubeconfig }, CONCURRENCY);
  const chunks: string[] = [];
  const out = { write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WritableStream;
  const cfg = topConfig({ count: '1', plain: true, groupBy: 'pod' }, {});
  const code = await topCommand(cfg, defaultHostPaths, { out, signal: new AbortController().signal, interactive: false }, {
    openFeed: () => openClusterFeed(kube, { agentsNamespace: 'kdrop-system', namespace: undefined, concurrency: CONCURRENCY, timeoutMs: TIMEOUT_MS }),
  });
  assert.equal(code, 0);
  const text = chunks.join('');
  const lines = text.split('\n');
  assert.match(lines[1]!, /^POD\s+NODE\s+RATE\/s\s+TOTAL/);
  const web = lines.find((l) => l.startsWith('default/web '))!;
  const expectedTotal = answering.reduce((sum, i) => sum + 10 + i + 5, 0);
  assert.equal(web.split(/\s{2,}/)[3], String(expectedTotal));
  assert.equal(web.split(/\s{2,}/)[1], answering.map((i) => agents[i]!.node).join(','));
  const app12 = lines.find((l) => l.startsWith('team-0/app-12 '))!;
  assert.deepEqual(app12.split(/\s{2,}/).slice(1, 4), ['node-012', '1.4', '100']);
  assert.match(lines[0]!, new RegExp(`agents ${answering.length}/${N}`));
  for (const [i, a] of agents.entries()) {
    if (kindOf(i) === 'ok') continue;
    assert.ok(lines.some((l) => l.startsWith(`agent on ${a.node} not answering: `)), `${a.node} not reported`);
  }
});

test('-n NAMESPACE keeps only that namespace, totals unchanged', async () => {
  const kube = KubeApi.load({ kubeconfig }, CONCURRENCY);
  const results = await pollCluster(kube, { agentsNamespace: 'kdrop-system', namespace: 'team-1', concurrency: CONCURRENCY, timeoutMs: TIMEOUT_MS });
  kube.close();
  const merged = mergeDrops(results, new Map(), 'team-1', 0);
  assert.deepEqual(
    merged.samples.map((s) => s.pod).sort(),
    answering.filter((i) => i % 4 === 1).map((i) => `app-${i}`).sort(),
  );
});

test('a user without pods/proxy is refused with KDROP_E_KUBE_FORBIDDEN naming the permission', async () => {
  const kube = KubeApi.load({ kubeconfig, context: 'no-proxy' }, CONCURRENCY);
  await assert.rejects(openClusterFeed(kube, { agentsNamespace: 'kdrop-system', namespace: undefined, concurrency: CONCURRENCY, timeoutMs: TIMEOUT_MS }), (err: unknown) => {
    assert.ok(isKdropError(err, ErrorCodes.KUBE_FORBIDDEN), String(err));
    assert.match(err.message, /missing get pods\/proxy in namespace kdrop-system/);
    assert.match(err.message, /User "no-proxy" cannot get resource "pods\/proxy"/);
    return true;
  });
  kube.close();
  const nobody = KubeApi.load({ kubeconfig, context: 'nobody' }, 2);
  await assert.rejects(openClusterFeed(nobody, { agentsNamespace: 'kdrop-system', namespace: undefined, concurrency: 2, timeoutMs: TIMEOUT_MS }), (err: unknown) => {
    assert.ok(isKdropError(err, ErrorCodes.KUBE_FORBIDDEN), String(err));
    assert.match(err.message, /missing permission list pods in namespace kdrop-system/);
    return true;
  });
  nobody.close();
});

test('an unknown context and a namespace without agents are clear KDROP_E_KUBE_API errors', async () => {
  assert.throws(() => KubeApi.load({ kubeconfig, context: 'prod' }), (err: unknown) => isKdropError(err, ErrorCodes.KUBE_API) && /no context "prod".*admin, no-proxy, nobody/.test(err.message));
  const kube = KubeApi.load({ kubeconfig });
  await assert.rejects(pollCluster(kube, { agentsNamespace: 'monitoring', namespace: undefined, concurrency: 4, timeoutMs: TIMEOUT_MS }), (err: unknown) => isKdropError(err, ErrorCodes.KUBE_API) && /no kdrop agent pods in namespace monitoring/.test(err.message));
  kube.close();
});
