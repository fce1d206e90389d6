import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentHttpServer, type Check } from '../../../src/agent/http-server.js';

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
