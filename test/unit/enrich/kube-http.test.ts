/** The agent's small Kubernetes client: in-cluster endpoint, JSON requests, watch streams, their failures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getEventListeners } from 'node:events';
import { inClusterEndpoint, type KubeEndpoint } from '../../../src/enrich/kube-endpoint.js';
import { KubeApiError, requestJson, watchStream, type WatchEvent } from '../../../src/enrich/kube-http.js';
import { PodCache } from '../../../src/enrich/pod-cache.js';
import { ServiceAccountRoot } from '../../helpers/kube.js';

async function serve(handler: (path: string, res: ServerResponse) => void): Promise<{ ep: KubeEndpoint; close: () => Promise<void> }> {
  const server = createServer((req, res) => handler(req.url ?? '', res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    ep: { server: `http://127.0.0.1:${port}`, requestOptions: () => Promise.resolve({ headers: { authorization: 'Bearer t' } }) },
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

test('inClusterEndpoint: service address (IPv6 in brackets), CA, token read again only after a minute', async () => {
  const sa = new ServiceAccountRoot('CA-PEM', 'tok-1');
  try {
    let now = 1_000_000;
    const ep = inClusterEndpoint({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, root: sa.root, now: () => now });
    assert.equal(ep.server, 'https://[fd00::1]:443');
    const auth = async () => ((await ep.requestOptions()).headers as Record<string, string>)['authorization'];
    assert.equal((await ep.requestOptions()).ca, 'CA-PEM');
    assert.equal(await auth(), 'Bearer tok-1');
    sa.setToken('tok-2');
    now += 59_000;
    assert.equal(await auth(), 'Bearer tok-1', 'cached for a minute');
    now += 1_000;
    assert.equal(await auth(), 'Bearer tok-2', 'read again after a minute');
    assert.throws(() => inClusterEndpoint({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, root: sa.root }), /KUBERNETES_SERVICE_PORT are not set/);
  } finally {
    sa.remove();
  }
});

test('requestJson: JSON answer; a Status error as KubeApiError with its code and reason; a non-JSON answer said clearly', async () => {
  const s = await serve((path, res) => {
    if (path === '/ok') return res.end('{"kind":"PodList","items":[]}');
    if (path === '/forbidden') {
      res.statusCode = 403;
      return res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', message: 'pods is forbidden: User "system:serviceaccount:x:y" cannot list resource "pods"', code: 403 }));
    }
    res.end('<html>proxy</html>');
  });
  try {
    assert.deepEqual(await requestJson(s.ep, 'GET', '/ok'), { kind: 'PodList', items: [] });
    await assert.rejects(requestJson(s.ep, 'GET', '/forbidden'), (e: unknown) => e instanceof KubeApiError && e.status === 403 && e.reason === 'Forbidden' && /cannot list resource "pods"/.test(e.message));
    await assert.rejects(requestJson(s.ep, 'GET', '/html'), /answer is not JSON: <html>proxy/);
  } finally {
    await s.close();
  }
});

test('watchStream: events split across writes, the end of the stream, a line that is not an event, a silent connection', async () => {
  const s = await serve((path, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (path === '/split') {
      const line = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '5' } } }) + '\n';
      res.write(line.slice(0, 10));
      setTimeout(() => res.end(line.slice(10) + JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } })), 50);
    } else if (path === '/bad') res.end('{"type":"ADDED"}\n');
    else res.write(''); // /silent: headers, then nothing
  });
  try {
    const seen: WatchEvent[] = [];
    await watchStream(s.ep, '/split', (e) => seen.push(e), new AbortController().signal, 5000);
    assert.deepEqual(seen.map((e) => e.type), ['ADDED', 'BOOKMARK']);
    await assert.rejects(watchStream(s.ep, '/bad', () => undefined, new AbortController().signal, 5000), /expected \{"type": \.\.\., "object": \{\.\.\.\}\}, found \{"type":"ADDED"\}/);
    const t0 = Date.now();
    await assert.rejects(watchStream(s.ep, '/silent', () => undefined, new AbortController().signal, 300), /no data from the Kubernetes API for 300 ms/);
    assert.ok(Date.now() - t0 < 5000);
    // Aborting ends a watch quietly.
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await watchStream(s.ep, '/silent', () => undefined, ac.signal, 60_000);
  } finally {
    await s.close();
  }
});

test('PodCache: a server that ends every watch at once is not watched in a loop: it is a failure, listed again after the backoff', async () => {
  let lists = 0;
  let watches = 0;
  const s = await serve((path, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (path.includes('watch=true')) {
      watches++;
      return res.end();
    }
    lists++;
    res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '7' }, items: [{ metadata: { uid: 'u1', name: 'p1', namespace: 'd' } }] }));
  });
  const cache = new PodCache({ endpoint: s.ep, nodeName: 'n', minBackoffMs: 400, maxBackoffMs: 400 });
  try {
    cache.start();
    assert.equal(await cache.waitForSync(5000), true);
    assert.equal(cache.get('u1')?.name, 'p1');
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(watches >= 2 && watches <= 6, `watches in 1.5 s with a 0.4 s backoff: ${watches}`);
    assert.ok(lists >= 2, 'listed again after each failure');
    assert.match(String(cache.error()), /ended the watch after \d+ ms without an event/);
    assert.equal(cache.get('u1')?.name, 'p1', 'the pods stay known meanwhile');
  } finally {
    await cache.close();
    await s.close();
  }
});

test('PodCache: a long outage (many backoffs) leaves no listeners behind on its abort signal', async () => {
  let requests = 0;
  const s = await serve((_path, res) => {
    requests++;
    res.statusCode = 500;
    res.end(JSON.stringify({ kind: 'Status', reason: 'InternalError', message: 'etcd is down', code: 500 }));
  });
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  const cache = new PodCache({ endpoint: s.ep, nodeName: 'n', minBackoffMs: 5, maxBackoffMs: 5 });
  try {
    cache.start();
    await new Promise((r) => setTimeout(r, 800));
    assert.ok(requests >= 20, `lists tried during the outage: ${requests}`);
    assert.match(String(cache.error()), /HTTP 500 InternalError: etcd is down/);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message), []);
    // The cache's own abort signal (private: the leak is what is tested) holds at most the current wait's listener.
    const signal = (cache as unknown as { abort: AbortController }).abort.signal;
    assert.ok(getEventListeners(signal, 'abort').length <= 2, `abort listeners after ${requests} backoffs: ${getEventListeners(signal, 'abort').length}`);
  } finally {
    process.off('warning', onWarning);
    await cache.close();
    await s.close();
  }
});
