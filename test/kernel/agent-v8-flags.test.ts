/**
 * The agent's V8 settings (src/runtime-flags.ts) as the CLI applies them: TurboFan is off with
 * the kernel probe, and back on with the tracefs source, which parses every drop in Node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startCli } from '../helpers/cli.js';
import { probeSkipReason } from '../helpers/probe.js';
import { kernelTestSkipReason } from '../helpers/netns.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

for (const [source, skip, want] of [
  ['bpf', probeSkipReason(), ['--semi-space-growth-factor=1', '--optimize-for-size', '--no-opt']],
  ['tracefs', kernelTestSkipReason(), ['--semi-space-growth-factor=1', '--optimize-for-size', '--no-opt', '--opt']],
] as const) {
  test(`agent --source ${source}: V8 flags ${want.join(' ')}`, { skip: skip ?? false, timeout: 60_000 }, async () => {
    const port = await freePort();
    const a = startCli(['agent', '--source', source, '--interval', '1s', '--metrics-address', `127.0.0.1:${port}`, '--otlp-endpoint', 'off', '--final-scrape-wait', '0']);
    try {
      const started = await a.waitForLog('kdrop agent started', 45_000);
      assert.equal(started['source'], source);
      assert.deepEqual(started['v8'], want);
      assert.equal(await a.stop('SIGTERM'), 0);
    } finally {
      await a.stop('SIGKILL');
    }
  });
}
