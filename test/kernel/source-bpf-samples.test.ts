/**
 * Samples of the bpf source against the real kernel and kdrop-probe: drops with a known flow are made in
 * fresh network namespaces (loopback), and the sample of each must carry exactly that flow; under a flood
 * the samples of one key stay within its token bucket while the counts stay exact.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { BpfSource } from '../../src/source/bpf/index.js';
import type { FlowSample } from '../../src/vocabulary/flow-sample.js';
import { KallsymsSymbolizer } from '../../src/symbolize/kallsyms-symbolizer.js';
import { hostPathsFrom } from '../../src/config/common.js';
import { describeSample } from '../../src/enrich/describe-sample.js';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { PROBE, pre512Probe, probeSkipReason } from '../helpers/probe.js';
import { dropFunction, reasonCode } from '../helpers/running-kernel.js';

const skip = probeSkipReason();
// The running kernel's code (numbering drifts between kernels); unused when skipped.
const NO_SOCKET = skip === null ? reasonCode('NO_SOCKET') : -1;
const sender = fileURLToPath(new URL('../helpers/flow-sender.js', import.meta.url));

const namespaces: TestNetns[] = [];
async function newNs(): Promise<TestNetns> {
  const ns = await createNetns('kdropsmp');
  namespaces.push(ns);
  return ns;
}
after(async () => {
  for (const ns of namespaces) await ns.remove();
});

async function send(ns: TestNetns, args: readonly string[]): Promise<number> {
  const { stdout } = await ns.exec([process.execPath, sender, ...args]);
  return Number(stdout.trim());
}

// Both objects of the loader: the main one, and the pre-5.12 one (no BPF atomics but add; the loader picks it
// on kernels that refuse compare-and-swap), forced here with --no-atomics.
for (const object of ['main', 'pre-5.12'] as const) describe(`BpfSource samples (${object} object)`, { skip: skip ?? false, timeout: 120_000 }, () => {
  let src: BpfSource | undefined;
  let wrapper: ReturnType<typeof pre512Probe> | undefined;
  const samples: FlowSample[] = [];
  const of = (ns: TestNetns): FlowSample[] => samples.filter((s) => s.netns === ns.inode);
  async function waitSamples(ns: TestNetns, n: number): Promise<FlowSample[]> {
    assert.ok(await waitFor(() => of(ns).length >= n, 10_000, 50), `${n} samples for netns ${ns.inode}, got ${of(ns).length}`);
    return of(ns);
  }

  before(async () => {
    if (object === 'pre-5.12') wrapper = pre512Probe();
    src = new BpfSource({ hasReason: true, probe: wrapper?.path ?? PROBE, pinRoot: null, readIntervalMs: 200, samples: { rate: 1, burst: 3, maxPerS: 100_000, stacks: true } });
    await src.start();
    src.onSample((s) => samples.push(s));
  });
  after(async () => {
    await src?.stop();
    wrapper?.remove();
  });

  test('UDP over IPv4 to a closed port: exactly that flow, on lo, NO_SOCKET, length of UDP header + payload', async () => {
    const ns = await newNs();
    assert.equal(await send(ns, ['udp', '4', '40123', '9', '1', '21']), 1);
    const [s] = await waitSamples(ns, 1);
    assert.deepEqual(s!.flow, { family: 4, transport: 17, srcAddr: '127.0.0.1', srcPort: 40123, dstAddr: '127.0.0.1', dstPort: 9, tcpFlags: null, icmpType: null, icmpCode: null });
    assert.equal(s!.ifname, 'lo');
    assert.equal(s!.ifindex, 1);
    assert.equal(s!.reasonCode, NO_SOCKET);
    assert.equal(s!.protocol, 0x0800);
    assert.equal(s!.len, 8 + 21);
    assert.ok(Math.abs(s!.time.getTime() - Date.now()) < 10_000, `time ${s!.time.toISOString()} is now`);
  });

  test('UDP over IPv6: exactly that flow', async () => {
    const ns = await newNs();
    assert.equal(await send(ns, ['udp', '6', '40555', '53', '1', '5']), 1);
    const [s] = await waitSamples(ns, 1);
    assert.deepEqual(s!.flow, { family: 6, transport: 17, srcAddr: '::1', srcPort: 40555, dstAddr: '::1', dstPort: 53, tcpFlags: null, icmpType: null, icmpCode: null });
    assert.equal(s!.ifname, 'lo');
    assert.equal(s!.protocol, 0x86dd);
    assert.equal(s!.reasonCode, NO_SOCKET);
  });

  test('TCP SYN to a closed port: the SYN flag alone, the ports', async () => {
    const ns = await newNs();
    assert.equal(await send(ns, ['tcp', '4', '40777', '7']), 1, 'connection refused');
    const syn = (await waitSamples(ns, 1)).find((s) => s.flow.transport === 6 && s.flow.dstPort === 7);
    assert.ok(syn, 'a TCP sample to port 7');
    assert.equal(syn.flow.tcpFlags, 0x02);
    assert.equal(syn.flow.srcPort, 40777);
    assert.equal(syn.reasonCode, NO_SOCKET);
  });

  test('stack: starts at the drop location and contains the UDP receive function', async () => {
    const ns = await newNs();
    assert.equal(await send(ns, ['udp', '4', '40124', '9', '1', '8']), 1);
    const [s] = await waitSamples(ns, 1);
    assert.ok(s!.stack !== null && s!.stack.length > 3, 'a kernel stack');
    const symbolizer = await KallsymsSymbolizer.load(hostPathsFrom({}, process.env));
    const d = describeSample({ symbolizer, reasons: null, resolver: { resolve: () => ({ scope: 'netns', namespace: null, pod: null, podUid: null }), unattributed: () => 0 } }, s!);
    assert.equal(d.stack?.[0], s!.address, 'first frame is the drop location');
    assert.ok(d.stackText?.[0]?.startsWith(`${dropFunction('udp4')}+0x`), `stack: ${d.stackText?.join(' ')}`);
    assert.ok(d.stackText?.some((f) => f.startsWith('ip_local_deliver') || f.startsWith('ip_protocol_deliver_rcu')), 'the IPv4 receive path below it');
  });

  test('two floods 1.5 s apart: samples per key within the bucket (burst 3, then refilled at 1/s), counts exact, the rest reported suppressed', async () => {
    const ns = await newNs();
    const N = 100_000;
    const t0 = Date.now();
    assert.equal(await send(ns, ['udp', '4', '40999', '9', String(N), '16']), N);
    const firstS = (Date.now() - t0) / 1000;
    // A dump reads the ring buffer before it answers: every sample of the first flood is in by now (read
    // earlier, `first` could miss some, and "refilled" below would hold whatever came).
    await src!.collect();
    const first = of(ns).length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await send(ns, ['udp', '4', '40999', '9', String(N), '16']), N);
    const elapsedS = (Date.now() - t0) / 1000;
    let total = 0;
    await waitFor(
      async () => {
        total = (await src!.collect()).filter((x) => x.netns === ns.inode && x.reasonCode === NO_SOCKET).reduce((a, x) => a + x.count, 0);
        return total >= 2 * N;
      },
      20_000,
      100,
    );
    assert.equal(total, 2 * N, 'counts never depend on sampling');
    const got = of(ns);
    // The pre-5.12 object takes a token with a plain store: CPUs that drop this key in the same instant may
    // each take the same token: one extra sample per other CPU and token at most (kdrop.bpf.c, take()).
    const slack = object === 'pre-5.12' ? cpus().length - 1 : 0;
    const bound = 3 + Math.ceil(elapsedS) + 1 + slack;
    assert.ok(first >= 3 && first <= 3 + Math.ceil(firstS) + slack, `the first flood gives the burst: ${first} in ${firstS.toFixed(2)} s`);
    assert.ok(got.length > first, `the bucket refilled: ${got.length} after ${first}`);
    assert.ok(got.length <= bound, `${got.length} samples in ${elapsedS.toFixed(2)} s, bucket allows ${bound}`);
    // Each sample reports the drops of its key suppressed since the previous one (approximate across CPUs).
    const suppressed = got.reduce((a, s) => a + s.suppressed, 0);
    assert.ok(suppressed <= 2 * N - got.length, `suppressed ${suppressed} <= ${2 * N - got.length}`);
    assert.ok(suppressed >= (N - got.length) * 0.5, `suppressed ${suppressed}: at least most of the first flood, reported with the refilled sample`);
    const st = src!.sampleStats();
    assert.ok(st.suppressed >= 2 * N - got.length, `kernel counted ${st.suppressed} suppressed`);
    assert.equal(st.ringFull, 0);
  });
});

describe('BpfSource without samples', { skip: skip ?? false, timeout: 60_000 }, () => {
  test('no sample is handed over, counts as before', async () => {
    const src = new BpfSource({ hasReason: true, probe: PROBE, pinRoot: null, readIntervalMs: 200 });
    await src.start();
    const got: FlowSample[] = [];
    src.onSample((s) => got.push(s));
    try {
      const ns = await newNs();
      assert.equal(await send(ns, ['udp', '4', '40200', '9', '5', '8']), 5);
      await waitFor(async () => (await src.collect()).some((x) => x.netns === ns.inode && x.count === 5), 10_000, 100);
      assert.equal(got.length, 0);
      assert.equal(src.sampleStats().emitted, 0);
    } finally {
      await src.stop();
    }
  });
});

describe('BpfSource samples across a loader restart', { skip: skip ?? false, timeout: 90_000 }, () => {
  test('the successor loader reads the pinned ring buffer: samples keep coming, with their flows', async () => {
    const src = new BpfSource({ hasReason: true, probe: PROBE, readIntervalMs: 200, restart: { maxRestarts: 3, initialDelayMs: 100, maxDelayMs: 1000 }, samples: { rate: 1, burst: 3, maxPerS: 100_000, stacks: false } });
    await src.start();
    const got: FlowSample[] = [];
    src.onSample((s) => got.push(s));
    try {
      const ns = await newNs();
      assert.equal(await send(ns, ['udp', '4', '40801', '9', '1', '8']), 1);
      assert.ok(await waitFor(() => got.some((s) => s.netns === ns.inode), 10_000, 50), 'a sample before the restart');
      const pid = src.pid!;
      process.kill(pid, 'SIGKILL');
      assert.ok(await waitFor(() => src.pid !== undefined && src.pid !== pid, 20_000, 20), 'loader restarted');
      const ns2 = await newNs();
      assert.equal(await send(ns2, ['udp', '6', '40802', '9', '1', '8']), 1);
      assert.ok(await waitFor(() => got.some((s) => s.netns === ns2.inode), 10_000, 50), 'a sample after the restart');
      assert.equal(got.find((s) => s.netns === ns2.inode)?.flow.srcPort, 40802);
      assert.equal(src.stats().restarts, 1);
    } finally {
      await src.stop();
    }
  });
});
