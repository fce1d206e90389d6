/**
 * The esbuild bundle (scripts/bundle.mjs, what the image ships) run from the repository: the agent pushes
 * exactly N drops over OTLP http/protobuf and gRPC to a real collector, and, with OTLP off, loads none of
 * undici, http2 or zlib (the built-ins are required, not imported as ES modules: scripts/bundle.mjs).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createNetns, kernelTestSkipReason, waitFor } from '../helpers/netns.js';
import { freePort } from './helpers/ports.js';
import { startChild } from './helpers/processes.js';
import { latestSum, otelcolSkipReason, startCollector } from './helpers/otelcol.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
// Inside the repository, so that the bundle finds package.json and the probe by walking up (src/package-root.ts).
const outdir = join(root, 'dist', 'bundle-test');
const esbuildMissing = existsSync(join(root, 'node_modules', 'esbuild')) ? null : 'needs esbuild (npm ci)';
const skip = kernelTestSkipReason() ?? esbuildMissing ?? (await otelcolSkipReason()) ?? false;

describe('the bundle (scripts/bundle.mjs)', { skip, timeout: 300_000 }, () => {
  let work = '';
  before(async () => {
    await run(process.execPath, [join(root, 'scripts', 'bundle.mjs'), outdir], { cwd: root });
    work = await mkdtemp(join(tmpdir(), 'kdrop-bundle-'));
  });
  after(async () => {
    await rm(outdir, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const protocol of ['http/protobuf', 'grpc'] as const) {
    it(`agent: OTLP ${protocol} to a real collector, exactly N drops`, async () => {
      const ns = await createNetns('kdropbun');
      const col = await startCollector();
      const endpoint = protocol === 'grpc' ? col.grpcEndpoint : col.httpEndpoint;
      const agent = startChild('kdrop agent (bundle)', [process.execPath, join(outdir, 'kdrop.mjs'), 'agent', '--interval', '1s', '--metrics-address', 'off', '--labels', '+kdrop.netns.inode', '--otlp-endpoint', endpoint, '--otlp-protocol', protocol], {
        env: { KDROP_LOG_LEVEL: 'info', NODE_NAME: 'bundle-node', OTEL_METRIC_EXPORT_INTERVAL: '1000' },
      });
      try {
        await agent.waitForLine((l) => l.includes('"msg":"first interval read: ready"'), 60_000);
        await ns.sendUdp(41);
        const inode = String(ns.inode);
        let got = 0;
        await waitFor(async () => (got = latestSum(await col.points('kdrop.packet.drops'), (a) => a['kdrop.netns.inode'] === inode)) === 41, 60_000, 500);
        assert.equal(got, 41, agent.tail(20));
        assert.equal(await agent.stop('SIGTERM', 30_000), 0, agent.tail(30));
      } finally {
        await agent.stop('SIGKILL');
        await col.stop();
        await ns.remove();
      }
    });
  }

  it('agent with OTLP off: /metrics counts the drops; undici, http2 and zlib never load', async () => {
    const dump = join(work, 'modules.json');
    // Written when the agent gets SIGTERM (beside its own handler), through getBuiltinModule: no ES module import of a built-in here either.
    const preload = join(work, 'dump.mjs');
    await writeFile(preload, `process.on('SIGTERM', () => process.getBuiltinModule('fs').writeFileSync(${JSON.stringify(dump)}, JSON.stringify(process.moduleLoadList)));\n`);
    const port = await freePort();
    const ns = await createNetns('kdropbun');
    const agent = startChild('kdrop agent (bundle)', [process.execPath, '--import', preload, join(outdir, 'kdrop.mjs'), 'agent', '--interval', '1s', '--metrics-address', `127.0.0.1:${port}`, '--otlp-endpoint', 'off', '--labels', '+kdrop.netns.inode'], {
      env: { KDROP_LOG_LEVEL: 'info' },
    });
    try {
      await agent.waitForLine((l) => l.includes('"msg":"first interval read: ready"'), 60_000);
      await ns.sendUdp(23);
      const line = new RegExp(`^kdrop_packet_drops_total\\{[^}]*kdrop_netns_inode="${ns.inode}"[^}]*\\} (\\d+)$`, 'm');
      let body = '';
      const seen = await waitFor(async () => line.exec((body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()))?.[1] === '23', 30_000, 300);
      assert.ok(seen, `${body.slice(0, 1500)}\n${agent.tail(10)}`);
      assert.equal(await agent.stop('SIGTERM', 30_000), 0, agent.tail(30));
      const loaded = JSON.parse(await readFile(dump, 'utf8')) as string[];
      assert.ok(loaded.includes('NativeModule http'), 'the listener is there');
      assert.deepEqual(
        loaded.filter((m) => /undici|http2|zlib/.test(m)),
        [],
      );
    } finally {
      await agent.stop('SIGKILL');
      await ns.remove();
    }
  });
});
