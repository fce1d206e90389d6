/**
 * Proof that the chart's capability set (values.yaml capabilities.add) is enough, and that each of its
 * members is needed, on this machine's kernel, with the image's own kernel probe (kdrop-probe).
 *
 * Everything runs in a chroot of the image's runtime stage as uid 0 with only the named capabilities
 * (setpriv bounding set + no_new_privs: what a container with `drop: [ALL], add: [...]` and
 * allowPrivilegeEscalation: false gets), a read-only root and the host's /proc (hostPID). Drops are made
 * in a fresh network namespace and counted exactly for its inode.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createNetns, kernelTestSkipReason, waitFor, type TestNetns } from '../helpers/netns.js';
import { dropFunction } from '../helpers/running-kernel.js';
import { buildImage, chartCapabilities, imageSkipReason, mountImage, type MountedImage } from './helpers/deploy-image.js';

const skip = kernelTestSkipReason() ?? imageSkipReason() ?? false;
const DROPS = 200;

/** The kernel probe in the image (runtime-base), where the bpf source finds it. */
const PROBE = '/app/build/probe/kdrop-probe';

interface TraceResult {
  /** Drops counted for the netns (null: the probe never reported the netns). */
  count: number | null;
  exitCode: number | null;
  stderr: string;
}

/** Sum of the probe's delta lines (`D epoch location reason protocol netns count bytes`) for the netns. */
function probeCount(lines: readonly string[], inode: number): number | null {
  let found: number | null = null;
  for (const line of lines) {
    const f = line.split(' ');
    if (f[0] === 'D' && f[5] === String(inode)) found = (found ?? 0) + Number(f[6]);
  }
  return found;
}

describe('least-privilege capability set, proven on this kernel with the image\'s kernel probe', { skip, timeout: 40 * 60_000 }, () => {
  let image: MountedImage | undefined;
  let netns: TestNetns | undefined;
  const caps = chartCapabilities();

  before(async () => {
    const tag = await buildImage({ target: 'runtime-base', tag: 'localhost/kdrop-runtime-base:test' });
    image = await mountImage(tag);
    netns = await createNetns('kdropcap');
  }, { timeout: 40 * 60_000 });

  after(async () => {
    await netns?.remove();
    await image?.close();
  });

  /** The image's kdrop-probe with exactly `withCaps`, dumping every 500 ms; DROPS datagrams to a closed port in the netns. */
  async function trace(attach: string, withCaps: readonly string[]): Promise<TraceResult> {
    const ns = netns!;
    const p = image!.spawn([PROBE, '--interval', '500', '--attach', attach], withCaps);
    try {
      const ready = await waitFor(() => p.stdoutLines.some((l) => l.startsWith('READY ')) || p.child.exitCode !== null, 60_000);
      if (!ready || p.child.exitCode !== null) {
        const exitCode = await p.stop();
        return { count: probeCount(p.stdoutLines, ns.inode), exitCode, stderr: p.stderrLines.join('\n') };
      }
      await ns.sendUdp(DROPS);
      await waitFor(() => (probeCount(p.stdoutLines, ns.inode) ?? 0) >= DROPS, 30_000);
      // A few more dumps after reaching the count: it must not grow past it.
      const ends = p.stdoutLines.filter((l) => l.startsWith('END ')).length;
      await waitFor(() => p.stdoutLines.filter((l) => l.startsWith('END ')).length >= ends + 2, 5_000);
      const count = probeCount(p.stdoutLines, ns.inode);
      const exitCode = await p.stop();
      return { count, exitCode, stderr: p.stderrLines.join('\n') };
    } finally {
      await p.stop('SIGKILL');
    }
  }

  it('the chart adds back exactly BPF, PERFMON, SYSLOG, SYS_PTRACE', () => {
    assert.deepEqual(caps, ['BPF', 'PERFMON', 'SYSLOG', 'SYS_PTRACE']);
  });

  it('the image has the static kernel probe and no bpftrace (no LLVM)', async () => {
    const check = await image!.exec([PROBE, '--check'], caps);
    assert.match(check.stdout, /^CHECK tp_btf ok$/m, check.stderr);
    const bt = await image!.exec(['sh', '-c', 'command -v bpftrace'], caps);
    assert.notEqual(bt.code, 0);
  });

  for (const attach of ['tp_btf', 'raw_tp', 'tracepoint'] as const) {
    it(`${attach}: counts exactly ${DROPS} drops of a fresh netns with only the chart's capabilities`, async () => {
      const res = await trace(attach, caps);
      assert.equal(res.count, DROPS, `stderr: ${res.stderr}`);
    });
  }

  for (const missing of ['BPF', 'PERFMON']) {
    it(`without CAP_${missing} the probe cannot load its program (and counts nothing)`, async () => {
      const res = await trace('tp_btf', caps.filter((c) => c !== missing));
      assert.equal(res.count, null);
      assert.notEqual(res.exitCode, 0);
      assert.match(res.stderr, /cannot attach|Operation not permitted/i, res.stderr);
    });
  }

  it('without CAP_SYSLOG /proc/kallsyms hides addresses (when the kernel restricts them)', async (t) => {
    const kptr = Number(readFileSync('/proc/sys/kernel/kptr_restrict', 'utf8'));
    const paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8'));
    if (kptr === 0 && paranoid <= 1) {
      t.skip(`kptr_restrict=0 and perf_event_paranoid=${paranoid}: this kernel shows addresses to everyone`);
      return;
    }
    const udp = dropFunction('udp4');
    // The image has no shell or coreutils: its node reads the file.
    const script = `const l = require('fs').readFileSync('/proc/kallsyms', 'utf8').split('\\n').find((x) => / [tT] ${udp}$/.test(x)); console.log(l ?? '')`;
    const read = async (withCaps: readonly string[]): Promise<string> => (await image!.exec(['node', '-e', script], withCaps)).stdout.trim();
    const withSyslog = await read(caps);
    const without = await read(caps.filter((c) => c !== 'SYSLOG'));
    assert.match(withSyslog, new RegExp(`^[0-9a-f]{16} [tT] ${udp}$`));
    assert.notEqual(withSyslog.slice(0, 16), '0000000000000000');
    assert.match(without, new RegExp(`^0{16} [tT] ${udp}$`));
  });

  it("without CAP_SYS_PTRACE another container's /proc/<pid>/ns/net cannot be read (no pod attribution)", async () => {
    // A process with the full root capability set in the netns stands for another pod's process.
    const other = spawn('ip', ['netns', 'exec', netns!.name, 'sleep', '120'], { stdio: 'ignore' });
    try {
      const link = `/proc/${other.pid}/ns/net`;
      // The image's node as readlink (no coreutils in it).
      const readlink = ['node', '-e', "try { console.log(require('fs').readlinkSync(process.argv[1])) } catch (e) { console.error(e.message); process.exit(1) }", link];
      await waitFor(async () => (await image!.exec(readlink, 'all')).stdout.includes(String(netns!.inode)), 10_000);
      const withPtrace = await image!.exec(readlink, caps);
      const without = await image!.exec(readlink, caps.filter((c) => c !== 'SYS_PTRACE'));
      assert.equal(withPtrace.stdout.trim(), `net:[${netns!.inode}]`);
      assert.notEqual(without.code, 0);
      assert.match(without.stderr, /permission denied/i);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('the tracefs source needs no capability at all: uid 0 owns tracefs', async () => {
    const inst = `/sys/kernel/tracing/instances/kdrop-captest-${process.pid}`;
    const enable = `${inst}/events/skb/kfree_skb/enable`;
    // The image's node does what a shell would (no shell in it).
    const script = `const fs = require('fs'); fs.mkdirSync('${inst}'); try { fs.writeFileSync('${enable}', '1'); console.log(fs.readFileSync('${enable}', 'utf8').trim()); fs.writeFileSync('${enable}', '0'); } finally { fs.rmdirSync('${inst}'); }`;
    const res = await image!.exec(['node', '-e', script], []);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), '1');
  });
});
