import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { AgentHttpServer, type Check } from '../../../src/agent/http-server.js';
import { selfSigned } from '../../helpers/kube.js';

test('health and readiness reflect the checks; /metrics is counted; close releases the port', async () => {
  let live: Check = { ok: true, detail: 'tracer tracefs running' };
  let ready: Check = { ok: false, detail: 'first interval not read yet' };
  const s = new AgentHttpServer({
    address: { host: '127.0.0.1', port: 0 },
    metrics: (_req, res) => res.end('m 1\n'),
    health: { live: () => live, ready: () => ready },
  });
  const { port } = await s.listen();
  const get = async (p: string, method = 'GET') => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`, { method });
    return { status: r.status, body: await r.text() };
  };
  try {
    assert.deepEqual(await get('/healthz'), { status: 200, body: 'ok: tracer tracefs running\n' });
    assert.deepEqual(await get('/readyz'), { status: 503, body: 'not ok: first interval not read yet\n' });
    ready = { ok: true, detail: '1 intervals read' };
    live = { ok: false, detail: 'tracer failed: x' };
    assert.equal((await get('/readyz')).status, 200);
    assert.equal((await get('/healthz')).status, 503);
    const waiting = s.waitForScrape(10_000);
    assert.equal((await get('/metrics?x=1')).body, 'm 1\n');
    assert.equal(await waiting, true);
    assert.equal(s.scrapeCount(), 1);
    assert.equal(await s.waitForScrape(10), false);
    assert.equal((await get('/metrics', 'POST')).status, 405);
    assert.equal((await get('/other')).status, 404);
  } finally {
    await s.close();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
});

test('a health-only listener has no /metrics', async () => {
  const s = new AgentHttpServer({ address: { host: '127.0.0.1', port: 0 }, health: { live: () => ({ ok: true, detail: '' }), ready: () => ({ ok: true, detail: '' }) } });
  const { port } = await s.listen();
  try {
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
  } finally {
    await s.close();
  }
});

/** One HTTPS request trusting `ca`; resolves with status, headers and body. */
function httpsGet(port: number, path: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS with a guard: /metrics and the JSON API need the guard, the health endpoints do not', async () => {
  const tls = selfSigned();
  const asked: string[] = [];
  const s = new AgentHttpServer({
    address: { host: '127.0.0.1', port: 0 },
    metrics: (_req, res) => res.end('m 1\n'),
    json: { '/api/v1/drops': () => ({ ok: 1 }) },
    health: { live: () => ({ ok: true, detail: 'x' }), ready: () => ({ ok: true, detail: 'y' }) },
    tls,
    guard: async (authorization, attrs) => {
      asked.push(`${attrs.verb} ${attrs.path}`);
      if (authorization === undefined) return { status: 401, message: 'no token' };
      return authorization === 'Bearer ok' ? { status: 200, user: 'u' } : { status: 403, message: 'u may not' };
    },
  });
  const { port } = await s.listen();
  try {
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'no plain HTTP');
    const noToken = await httpsGet(port, '/metrics', tls.cert);
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers['www-authenticate'], 'Bearer realm="kdrop"');
    assert.equal((await httpsGet(port, '/metrics', tls.cert, { authorization: 'Bearer other' })).status, 403);
    assert.deepEqual(await httpsGet(port, '/metrics', tls.cert, { authorization: 'Bearer ok' }).then((r) => [r.status, r.body]), [200, 'm 1\n']);
    assert.equal((await httpsGet(port, '/api/v1/drops?x=1', tls.cert, { authorization: 'Bearer ok' })).body, '{"ok":1}\n');
    assert.equal((await httpsGet(port, '/readyz', tls.cert)).status, 200, "the kubelet's probes carry no token");
    assert.equal((await httpsGet(port, '/nothing', tls.cert)).status, 404);
    assert.deepEqual(asked, ['get /metrics', 'get /metrics', 'get /metrics', 'get /api/v1/drops']);
    // A renewed certificate is served to new connections.
    const renewed = selfSigned();
    s.setTls(renewed);
    await assert.rejects(httpsGet(port, '/readyz', tls.cert), 'the old CA no longer matches');
    assert.equal((await httpsGet(port, '/readyz', renewed.cert)).status, 200);
  } finally {
    await s.close();
  }
});

/** Raw HTTP/1.1 exchange on one connection; resolves with the status line and the header block. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port }, () => sock.write(text));
    let out = '';
    sock.on('data', (d) => {
      out += String(d);
      if (out.includes('\r\n\r\n')) sock.destroy();
    });
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
}

test('bounds: request bodies 413, methods 405, oversized headers 431, connections beyond the limit closed, in-flight requests beyond the limit 503', async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const s = new AgentHttpServer({
    address: { host: '127.0.0.1', port: 0 },
    metrics: (_req, res) => void held.then(() => res.end('m 1\n')),
    limits: { maxConnections: 4, maxInflight: 2, maxHeaderBytes: 1024 },
  });
  const { port } = await s.listen();
  try {
    assert.match(await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'), /^HTTP\/1\.1 413 /);
    assert.match(await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), /^HTTP\/1\.1 413 /);
    assert.match(await raw(port, 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'), /^HTTP\/1\.1 405 /);
    assert.match(await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    // Two scrapes held in progress: the third is told to come back.
    const a = fetch(`http://127.0.0.1:${port}/metrics`);
    const b = fetch(`http://127.0.0.1:${port}/metrics`);
    await new Promise((r) => setTimeout(r, 100));
    const busy = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.equal(s.refused.busy, 1);
    // Four connections open: a fifth is closed at accept, without an answer.
    const open = await Promise.all([0, 1].map(() => new Promise<Socket>((r) => { const c = connect({ host: '127.0.0.1', port }, () => r(c)); })));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'), '', 'closed at accept');
    assert.ok(s.refused.connections >= 1, `refused connections: ${s.refused.connections}`);
    for (const c of open) c.destroy();
    release();
    assert.equal(await (await a).text(), 'm 1\n');
    assert.equal(await (await b).text(), 'm 1\n');
  } finally {
    release();
    await s.close();
  }
});
