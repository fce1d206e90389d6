/**
 * The Dockerfile, really built (buildah, no daemon; base image stand-in from scripts/image/make-base.sh)
 * and run: its entrypoint (tini -> node -> kdrop) in a chroot of the image shaped like the chart's
 * container (read-only root, tmpfs /tmp, host /proc, uid 0 with only the chart's capabilities) counts
 * exactly the drops made in a fresh network namespace, and stops cleanly on SIGTERM through tini.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createNetns, kernelTestSkipReason, waitFor, type TestNetns } from '../helpers/netns.js';
import { dropFunction } from '../helpers/running-kernel.js';
import { buildImage, chartCapabilities, freePort, imageSkipReason, mountImage, type MountedImage } from './helpers/deploy-image.js';
import { helmSkipReason, one, path, render } from './helpers/deploy-helm.js';

const run = promisify(execFile);
const skip = kernelTestSkipReason() ?? imageSkipReason() ?? false;

interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  User?: string;
  Labels?: Record<string, string>;
  Env?: string[];
}

function sum(lines: readonly string[], match: (r: Record<string, unknown>) => boolean): number {
  let total = 0;
  for (const line of lines) {
    try {
      const r = JSON.parse(line) as Record<string, unknown>;
      if (match(r)) total += Number(r['count']);
    } catch {
      // not a record
    }
  }
  return total;
}

describe('container image (Dockerfile)', { skip, timeout: 45 * 60_000 }, () => {
  let tag = '';
  let config: ImageConfig = {};
  let image: MountedImage | undefined;
  const made: TestNetns[] = [];
  const caps = chartCapabilities();

  before(async () => {
    tag = await buildImage({ tag: 'localhost/kdrop:test' });
    const { stdout } = await run('buildah', ['inspect', '--type', 'image', tag], { maxBuffer: 16 << 20 });
    config = (JSON.parse(stdout) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
    image = await mountImage(tag);
  }, { timeout: 40 * 60_000 });

  after(async () => {
    for (const ns of made) await ns.remove();
    await image?.close();
  });

  it('has tini as init in front of node and kdrop, `agent` by default, uid 0, OCI labels', () => {
    assert.deepEqual(config.Entrypoint, ['/usr/bin/tini', '-s', '--', 'node', '/app/dist/kdrop.mjs']);
    assert.deepEqual(config.Cmd, ['agent']);
    assert.equal(config.User, '0:0');
    const labels = config.Labels ?? {};
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'base.name']) {
      assert.ok(labels[`org.opencontainers.image.${key}`], `label org.opencontainers.image.${key}`);
    }
    assert.equal(labels['org.opencontainers.image.title'], 'kdrop');
    assert.ok(config.Env?.includes('MALLOC_ARENA_MAX=2'), `MALLOC_ARENA_MAX=2 in the image's Env: ${JSON.stringify(config.Env)}`);
  });

  it('ships Node 24, the static kernel probe and kdrop bundled: no node_modules, no terminal UI, no shell, no bpftrace, no LLVM, no npm', async () => {
    const node = await image!.exec(['node', '--version'], caps);
    assert.match(node.stdout, /^v24\./);
    const probe = await image!.exec(['/app/build/probe/kdrop-probe', '--check'], caps);
    assert.match(probe.stdout, /^CHECK tp_btf ok$/m, probe.stderr);
    const root = image!.root;
    assert.ok(existsSync(`${root}/app/dist/kdrop.mjs`), 'the bundle');
    assert.ok(!existsSync(`${root}/app/node_modules`), 'no node_modules');
    assert.ok(!existsSync(`${root}/app/dist/src`) && !existsSync(`${root}/app/dist/test`), 'no compiled tree, no tests');
    const chunks = readdirSync(`${root}/app/dist/chunks`).filter((f) => f.endsWith('.mjs'));
    assert.ok(chunks.length > 0, 'the lazily loaded chunks');
    const bundle = [`${root}/app/dist/kdrop.mjs`, ...chunks.map((f) => `${root}/app/dist/chunks/${f}`)].map((f) => readFileSync(f, 'utf8')).join('\n');
    // What the OpenTelemetry SDK and the Kubernetes clients put in it (the agent's own pod list/watch;
    // @kubernetes/client-node's KubeConfig for kubeconfig files), and what ink, react, pino-pretty would.
    assert.match(bundle, /kdrop_packet_drops|kdrop\.packet\.drops/);
    assert.match(bundle, /allowWatchBookmarks=true/);
    assert.match(bundle, /KubeConfig\s*=\s*class\b|class KubeConfig\b/);
    for (const absent of ['react.transitional.element', 'useInput', 'prettyFactory', 'colorette']) assert.ok(!bundle.includes(absent), `bundle contains ${absent}`);
    for (const dir of ['usr/bin', 'usr/sbin', 'usr/local/bin']) {
      for (const tool of ['sh', 'bash', 'dash', 'bpftrace', 'npm', 'npx', 'apt-get', 'dpkg']) assert.ok(!existsSync(`${root}/${dir}/${tool}`), `/${dir}/${tool}`);
    }
    const libdirs = readdirSync(`${root}/usr/lib`).filter((d) => d.endsWith('-linux-gnu'));
    assert.ok(libdirs.length > 0, 'a multiarch library directory');
    for (const d of libdirs) assert.deepEqual(readdirSync(`${root}/usr/lib/${d}`).filter((f) => /^libLLVM/i.test(f)), [], 'no LLVM');
    assert.ok(existsSync(`${root}/etc/ssl/certs/ca-certificates.crt`), 'CA certificates');
  });

  it('is at most 150 MB (buildah images)', async () => {
    // buildah prints the size in SI units ("128 MB"), as `docker images` does.
    const { stdout } = await run('buildah', ['images', '--json', tag]);
    const human = (JSON.parse(stdout) as { size: string }[])[0]?.size ?? '';
    const m = /^([\d.]+)\s*(B|kB|MB|GB)$/.exec(human);
    assert.ok(m, `size ${JSON.stringify(human)}`);
    const size = Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B' | 'kB' | 'MB' | 'GB'];
    assert.ok(size > 50e6 && size <= 150e6, `image size ${human}`);
  });

  it('the entrypoint answers --version under the chart capabilities', async () => {
    const res = await image!.exec([...config.Entrypoint!, '--version'], caps);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  it("kdrop watch via the entrypoint, with only the chart's capabilities and a read-only root, counts exactly the drops of a fresh netns; SIGTERM through tini stops it cleanly", async () => {
    const ns = await createNetns('kdropimg');
    made.push(ns);
    await ns.addNftDrop(5557);
    const w = image!.spawn([...config.Entrypoint!, 'watch', '--json', '--interval', '1s', '--netns', String(ns.inode)], caps);
    try {
      const ready = await waitFor(() => w.stderrLines.some((l) => l.includes('watching skb:kfree_skb')) || w.child.exitCode !== null, 90_000);
      assert.ok(ready && w.child.exitCode === null, `watch did not start: ${w.stderrLines.join('\n')}`);
      assert.ok(w.stderrLines.some((l) => l.includes('"source":"bpf"') && l.includes('watching skb:kfree_skb')), 'the default source in the image is the kernel probe');
      await ns.sendUdp(173, { family: 4, port: 9 });
      await ns.sendUdp(37, { family: 6, port: 9 });
      await ns.sendUdp(53, { family: 4, port: 5557 });
      assert.equal(await w.stop('SIGTERM'), 0, w.stderrLines.join('\n'));
    } finally {
      await w.stop('SIGKILL');
    }
    const lines = w.stdoutLines;
    const inNs = (r: Record<string, unknown>): boolean => r['netns'] === ns.inode;
    assert.equal(sum(lines, (r) => inNs(r) && r['reason'] === 'NO_SOCKET' && r['function'] === dropFunction('udp4')), 173, lines.join('\n'));
    assert.equal(sum(lines, (r) => inNs(r) && r['reason'] === 'NO_SOCKET' && r['function'] === dropFunction('udp6')), 37);
    assert.equal(sum(lines, (r) => inNs(r) && r['reason'] === 'NETFILTER_DROP'), 53);
    // Symbolized: CAP_SYSLOG gave real kallsyms addresses.
    const rec = JSON.parse(lines.find((l) => l.includes('"NO_SOCKET"'))!) as Record<string, unknown>;
    assert.match(String(rec['address']), /^0xffffffff[0-9a-f]{8}$/);
    assert.ok([dropFunction('udp4'), dropFunction('udp6')].some((f) => new RegExp(`^${f}\\+0x[0-9a-f]+$`).test(String(rec['location']))), `location ${String(rec['location'])}`);
  });

  it('kdrop watch without CAP_SYSLOG stops with KDROP_E_KALLSYMS_RESTRICTED; without CAP_BPF or CAP_PERFMON the probe cannot load and it falls back to tracefs', async (t) => {
    const watch = [...config.Entrypoint!, 'watch', '--json', '--interval', '1s', '--count', '2'];
    const kptr = Number(readFileSync('/proc/sys/kernel/kptr_restrict', 'utf8'));
    const paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8'));
    if (kptr === 0 && paranoid <= 1) {
      t.diagnostic('this kernel shows kallsyms addresses without CAP_SYSLOG: that part is not checked');
    } else {
      const res = await image!.exec(watch, caps.filter((c) => c !== 'SYSLOG'), 60_000);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /KDROP_E_KALLSYMS_RESTRICTED/);
    }
    for (const missing of ['BPF', 'PERFMON']) {
      const res = await image!.exec(watch, caps.filter((c) => c !== missing), 60_000);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /"code":"KDROP_E_PROBE_START".*"msg":"bpf source unavailable, trying the next one"/, `without ${missing}`);
      assert.match(res.stderr, /"source":"tracefs".*"msg":"watching skb:kfree_skb"/, `without ${missing}`);
    }
  });

  it("kdrop agent via the entrypoint, with only the chart's capabilities, is ready and exports the exact drop count of a fresh netns on /metrics", async () => {
    const ns = await createNetns('kdropimga');
    made.push(ns);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const args = ['agent', '--interval', '1s', '--metrics-address', `127.0.0.1:${port}`, '--labels', '+kdrop.netns.inode', '--final-scrape-wait', '0'];
    const a = image!.spawn([...config.Entrypoint!, ...args], caps, { NODE_NAME: 'image-test-node' });
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      try {
        const res = await fetch(base + path);
        return { status: res.status, body: await res.text() };
      } catch {
        return { status: 0, body: '' };
      }
    };
    /** Sum of kdrop_packet_drops_total samples for this netns and reason. */
    const exported = (body: string, reason: string): number =>
      body
        .split('\n')
        .filter((l) => l.startsWith('kdrop_packet_drops_total{') && l.includes(`kdrop_netns_inode="${ns.inode}"`) && l.includes(`kdrop_reason="${reason}"`))
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    try {
      const ready = await waitFor(async () => (await get('/readyz')).status === 200 || a.child.exitCode !== null, 90_000, 250);
      assert.ok(ready && a.child.exitCode === null, `agent not ready: ${a.stderrLines.slice(-10).join('\n')}`);
      assert.equal((await get('/healthz')).status, 200);
      await ns.sendUdp(91, { family: 4, port: 9 });
      let body = '';
      await waitFor(async () => exported((body = (await get('/metrics')).body), 'NO_SOCKET') >= 91, 30_000, 500);
      assert.equal(exported(body, 'NO_SOCKET'), 91, body.split('\n').filter((l) => l.includes(String(ns.inode))).join('\n'));
      assert.ok(body.includes(`kdrop_function="${dropFunction('udp4')}"`), `kdrop_function="${dropFunction('udp4')}" exported`);
      // The V8 settings for memory (src/runtime-flags.ts) apply to the image's agent (tini -> node -> bundle).
      const started = a.stderrLines.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((r) => r['msg'] === 'kdrop agent started');
      assert.deepEqual(started?.['v8'], ['--semi-space-growth-factor=1', '--optimize-for-size', '--no-opt']);
      assert.equal(await a.stop('SIGTERM'), 0, a.stderrLines.slice(-10).join('\n'));
    } finally {
      await a.stop('SIGKILL');
    }
  });

  it('the DaemonSet the chart renders (its args, env, capabilities, probes) runs the agent in the image until SIGTERM', { skip: helmSkipReason() ?? false }, async () => {
    const port = await freePort();
    const { objects } = await render({ set: [`agent.metricsPort=${port}`, 'agent.interval=1s'] });
    const ds = one(objects, 'DaemonSet');
    const c = path(ds, 'spec.template.spec.containers.0') as {
      args: string[];
      env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
      securityContext: { capabilities: { add: string[] } };
      readinessProbe: { httpGet: { path: string } };
      livenessProbe: { httpGet: { path: string } };
    };
    const fieldValues: Record<string, string> = { 'spec.nodeName': 'chart-test-node', 'metadata.name': 'kdrop-x1', 'metadata.namespace': 'kdrop-system' };
    const env: Record<string, string> = { ...(one(objects, 'ConfigMap')['data'] as Record<string, string>) };
    for (const e of c.env) env[e.name] = e.value ?? fieldValues[e.valueFrom?.fieldRef?.fieldPath ?? ''] ?? '';
    const grace = Number(path(ds, 'spec.template.spec.terminationGracePeriodSeconds'));
    // A container runtime starts the container with the image's Env under the pod's.
    const imageEnv = Object.fromEntries((config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const a = image!.spawn([...config.Entrypoint!, ...c.args], c.securityContext.capabilities.add, { ...imageEnv, ...env });
    const get = async (p: string): Promise<{ status: number; body: string }> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}${p}`);
        return { status: res.status, body: await res.text() };
      } catch {
        return { status: 0, body: '' };
      }
    };
    try {
      const ready = await waitFor(async () => (await get(c.readinessProbe.httpGet.path)).status === 200 || a.child.exitCode !== null, 90_000, 250);
      assert.ok(ready && a.child.exitCode === null, `agent not ready: ${a.stderrLines.slice(-10).join('\n')}`);
      assert.equal((await get(c.livenessProbe.httpGet.path)).status, 200);
      // tini's child is Node: it runs with the image's malloc setting.
      const tini = a.child.pid!;
      const nodePid = readFileSync(`/proc/${tini}/task/${tini}/children`, 'utf8').trim().split(/\s+/)[0];
      const environ = readFileSync(`/proc/${nodePid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('MALLOC_ARENA_MAX=2'), `the agent's environment: ${environ.filter((e) => e.startsWith('MALLOC') || e.startsWith('KDROP')).join(' ')}`);
      const ns = await createNetns('kdropimgc');
      made.push(ns);
      await ns.sendUdp(50, { family: 4, port: 9 });
      let body = '';
      const seen = await waitFor(async () => /kdrop_packet_drops_total\{[^}]*kdrop_reason="NO_SOCKET"/.test((body = (await get('/metrics')).body)), 30_000, 500);
      assert.ok(seen, body.slice(0, 2000));
      const started = Date.now();
      assert.equal(await a.stop('SIGTERM'), 0, a.stderrLines.slice(-10).join('\n'));
      const stopS = (Date.now() - started) / 1000;
      assert.ok(stopS < grace, `stopped in ${stopS} s, grace period ${grace} s`);
    } finally {
      await a.stop('SIGKILL');
    }
  });
});
