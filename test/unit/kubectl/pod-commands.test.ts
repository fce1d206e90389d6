/**
 * `kubectl kdrop watch|trace --pod` and `doctor --node` through the fake API server proxy to the agent's real
 * handlers: the samples API (deny by default, trusted proxy addresses only, filters on the agent, NDJSON
 * stream), the doctor API over this host's facts, and the drops API filtered to one pod.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { FakeApiServer, dropsDoc, type FakeAgent } from './fake-apiserver.js';
import { samplesApiHandler, apiServerProxyAuthorizer, parseCidr } from '../../../src/agent/samples-api.js';
import { doctorApiHandler } from '../../../src/agent/doctor-api.js';
import { probeHost } from '../../../src/host/facts.js';
import { defaultHostPaths } from '../../../src/host-paths.js';
import { podTrace, podWatch, nodeDoctor } from '../../../src/kubectl/pod-commands.js';
import { kubectlConfig } from '../../../src/config/kubectl-config.js';
import { isKdropError, ErrorCodes } from '../../../src/errors.js';
import type { DescribedSample } from '../../../src/vocabulary/flow-sample.js';

function sample(pod: string, dstPort: number): DescribedSample {
  return {
    time: new Date('2026-12-02T23:00:00.000Z'),
    address: 0xffffffff81000000n,
    reasonCode: 3,
    protocol: 2048,
    netns: 7,
    flow: { family: 4, transport: 17, srcAddr: '10.0.0.5', srcPort: 1000, dstAddr: '10.0.0.7', dstPort, tcpFlags: null, icmpType: null, icmpCode: null },
    ifindex: 2,
    ifname: 'eth0',
    len: 30,
    stack: null,
    suppressed: 0,
    function: '__udp4_lib_rcv',
    offset: 0x4bc,
    location: '__udp4_lib_rcv+0x4bc',
    module: null,
    reason: 'NO_SOCKET',
    networkType: 'ipv4',
    owner: { scope: 'pod', namespace: 'shop', pod, podUid: 'u' },
    stackText: null,
  };
}

/** The agent's samples endpoint on a real server; `emit` feeds samples as the source would. */
const listeners = new Set<(s: DescribedSample) => void>();
const emit = (s: DescribedSample): void => listeners.forEach((l) => l(s));
const handler = samplesApiHandler({
  node: 'node-1',
  authorize: apiServerProxyAuthorizer(['127.0.0.1/32']),
  heartbeatMs: 50,
  subscribe: (l) => (listeners.add(l), () => listeners.delete(l)),
});
const agentServer: Server = createServer((req, res) => handler.handle(req, res));
let agentPort = 0;

const fake: FakeAgent = {
  name: 'kdrop-a',
  node: 'node-1',
  behaviour: { kind: 'ok', doc: () => dropsDoc('node-1', Math.floor(Date.now() / 200), [['shop', 'cart-0', 'NO_SOCKET', '__udp4_lib_rcv', 40, 4], ['shop', 'other', 'NO_SOCKET', 'f', 1, 1]]) },
  // The fake API server proxies the other agent paths to the real handlers.
  route: (path, req, res) => {
    if (path === '/api/v1/doctor') return doctorApiHandler({ paths: defaultHostPaths, node: 'node-1', probe: (p) => probeHost(p) })(req, res);
    const up = request({ host: '127.0.0.1', port: agentPort, path: req.url!.replace(/^.*\/proxy/, ''), headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    res.once('close', () => up.destroy());
    up.end();
  },
};
const api = new FakeApiServer([fake, { name: 'kdrop-b', node: 'node-2', behaviour: { kind: 'dead' } }]);
api.workloads.set('shop/cart-0', 'node-1');
api.workloads.set('shop/lost', 'node-9');
let kubeconfig = '';
before(async () => {
  await new Promise<void>((r) => agentServer.listen(0, '127.0.0.1', r));
  agentPort = (agentServer.address() as AddressInfo).port;
  kubeconfig = await api.kubeconfig();
});
after(async () => {
  handler.close();
  agentServer.closeAllConnections();
  agentServer.close();
  await api.stop();
});

const k = (over: Record<string, string> = {}) => kubectlConfig({ kubeconfig, agentTimeout: '2s', ...over }, {});
function sink(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  return { out, text: () => text };
}

test('trace --pod: finds the node, streams that pod\'s flows filtered on the agent', async () => {
  const { out, text } = sink();
  const run = podTrace(k(), { pod: 'shop/cart-0', port: ['53'], count: '2' }, out, new AbortController().signal);
  while (listeners.size === 0) await new Promise((r) => setTimeout(r, 20));
  emit(sample('other', 53)); // another pod: filtered on the agent
  emit(sample('cart-0', 80)); // another port: filtered on the agent
  emit(sample('cart-0', 53));
  emit(sample('cart-0', 53));
  assert.equal(await run, 0);
  assert.deepEqual(text().trim().split('\n'), Array(2).fill('23:00:00.000 pod shop/cart-0 NO_SOCKET __udp4_lib_rcv+0x4bc udp 10.0.0.5:1000 -> 10.0.0.7:53 on eth0'));
  // The stream was closed: the agent unsubscribed.
  for (let i = 0; i < 50 && listeners.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(listeners.size, 0);
});

test('trace --pod --json: the trace record plus node', async () => {
  const { out, text } = sink();
  const run = podTrace(k(), { pod: 'cart-0', json: true, count: '1' }, out, new AbortController().signal).catch((e: unknown) => e);
  // NAME alone is looked up in the context's namespace (default): no such pod there.
  const err = await run;
  assert.ok(isKdropError(err, ErrorCodes.KUBE_API) && /404 to getting pod default\/cart-0/.test(err.message), String(err));
  const run2 = podTrace(k({ namespace: 'shop' }), { pod: 'cart-0', json: true, count: '1' }, out, new AbortController().signal);
  while (listeners.size === 0) await new Promise((r) => setTimeout(r, 20));
  emit(sample('cart-0', 53));
  assert.equal(await run2, 0);
  const rec = JSON.parse(text()) as Record<string, unknown>;
  assert.deepEqual([rec['node'], rec['pod'], rec['dst_port'], rec['transport'], rec['reason']], ['node-1', 'cart-0', 53, 'udp', 'NO_SOCKET']);
});

test('samples API: deny by default, only trusted proxy addresses, 400 on a bad query, 503 without a sampling source', async () => {
  const get = async (h: ReturnType<typeof samplesApiHandler>, path: string): Promise<[number, string]> => {
    const s = createServer((req, res) => h.handle(req, res));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}${path}`);
    const body = await res.text();
    s.closeAllConnections();
    s.close();
    return [res.status, body];
  };
  const sub = () => () => undefined;
  const [s1, b1] = await get(samplesApiHandler({ node: null, authorize: null, subscribe: sub }), '/api/v1/samples');
  assert.equal(s1, 403);
  assert.match(b1, /no authorization configured/);
  const [s2, b2] = await get(samplesApiHandler({ node: null, authorize: apiServerProxyAuthorizer(['10.87.0.1']), subscribe: sub }), '/api/v1/samples');
  assert.equal(s2, 403);
  assert.match(b2, /127\.0\.0\.1 is not a trusted API server address/);
  const trusted = apiServerProxyAuthorizer(['127.0.0.0/8']);
  assert.deepEqual(await get(samplesApiHandler({ node: null, authorize: trusted, subscribe: sub }), '/api/v1/samples?pod=nope'), [400, 'bad query: pod: expected NAMESPACE/NAME, found "nope"\n']);
  assert.equal((await get(samplesApiHandler({ node: null, authorize: trusted, subscribe: () => null }), '/api/v1/samples'))[0], 503);
  assert.equal(parseCidr('10.87.0.0/24')('10.87.0.200'), true);
  assert.equal(parseCidr('10.87.0.0/24')('10.87.1.1'), false);
  assert.throws(() => parseCidr('10.87.0.0/40'), /prefix length/);
});

test('watch --pod: that pod\'s drops per interval from its node\'s agent', async () => {
  const { out, text } = sink();
  assert.equal(await podWatch(k(), { pod: 'shop/cart-0', interval: '250ms', count: '2' }, out, new AbortController().signal), 0);
  const lines = text().trim().split('\n');
  assert.equal(lines[0], 'Monitoring pod shop/cart-0 on node node-1 (agent kdrop-a)');
  assert.deepEqual(lines.slice(1, -1), Array(2).fill('4 packets dropped at __udp4_lib_rcv (NO_SOCKET) [pod shop/cart-0] (total 40)'));
  assert.equal(lines.at(-1), 'Stopping dropped packet monitor');
  await assert.rejects(podWatch(k(), { pod: 'shop/lost', count: '1' }, out, new AbortController().signal), (err: unknown) => isKdropError(err, ErrorCodes.KUBE_API) && /no kdrop agent runs on node node-9/.test(err.message));
});

test('doctor --node: the agent\'s doctor report over its host; a dead agent is a clear error', async () => {
  const { out, text } = sink();
  const code = await nodeDoctor(k(), { node: 'node-1', json: true }, out);
  const doc = JSON.parse(text()) as { node: string; report: { ready: boolean; checks: { name: string }[] } };
  assert.equal(doc.node, 'node-1');
  assert.equal(code, doc.report.ready ? 0 : 1);
  assert.ok(doc.report.checks.some((c) => c.name === 'tracepoint'));
  await assert.rejects(nodeDoctor(k(), { node: 'node-2' }, out), (err: unknown) => isKdropError(err, ErrorCodes.AGENT_API) && /node node-2 did not serve \/api\/v1\/doctor: connection refused/.test(err.message));
});

test('a user without pods/proxy gets KDROP_E_KUBE_FORBIDDEN from watch', async () => {
  const { out } = sink();
  await assert.rejects(podWatch(k({ context: 'no-proxy' }), { pod: 'shop/cart-0', count: '1' }, out, new AbortController().signal), (err: unknown) => {
    assert.ok(isKdropError(err, ErrorCodes.KUBE_FORBIDDEN), String(err));
    assert.match(err.message, /missing get pods\/proxy in namespace kdrop-system/);
    return true;
  });
});

test('trace --pod: the agent ending the stream is an error, not a silent stop', async () => {
  const { out } = sink();
  const run = podTrace(k(), { pod: 'shop/cart-0' }, out, new AbortController().signal);
  while (listeners.size === 0) await new Promise((r) => setTimeout(r, 20));
  handler.close();
  await assert.rejects(run, (err: unknown) => isKdropError(err, ErrorCodes.AGENT_API) && /node node-1 ended the samples stream/.test(err.message));
});

test('watch --pod: an agent that stops answering after the first read is reported and retried', async () => {
  const { out, text } = sink();
  const logged: string[] = [];
  const ok = fake.behaviour;
  const run = podWatch(k(), { pod: 'shop/cart-0', interval: '250ms', count: '3' }, out, new AbortController().signal, (l) => logged.push(l));
  while (!text().includes('packets dropped')) await new Promise((r) => setTimeout(r, 20));
  fake.behaviour = { kind: 'dead' };
  while (logged.length < 2) await new Promise((r) => setTimeout(r, 20));
  fake.behaviour = ok;
  assert.equal(await run, 0);
  assert.equal(text().split('\n').filter((l) => l.startsWith('4 packets dropped')).length, 3);
  assert.match(logged[0]!, /^kdrop: the agent on node node-1 did not serve \/api\/v1\/drops: connection refused .*; retrying\n$/);
});
