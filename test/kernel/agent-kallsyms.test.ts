/**
 * The agent's table-free symbolizer (StreamingSymbolizer) end to end, with the kernel probe:
 * - a module loaded after start (a fixture proc tree whose kallsyms gains `[mod]` symbols): the agent's
 *   /metrics name drops by the new symbol;
 * - kernel.kptr_restrict=2 at start (the real sysctl, always restored): the agent fails with
 *   KALLSYMS_RESTRICTED's message, as with the table.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type CliProcess } from '../helpers/cli.js';
import { createNetns, waitFor } from '../helpers/netns.js';
import { probeSkipReason } from '../helpers/probe.js';
import { dropFunction } from '../helpers/running-kernel.js';

const KPTR = '/proc/sys/kernel/kptr_restrict';
const NO_KUBE = { KUBECONFIG: '/nonexistent/kdrop-agent-kallsyms-test' };
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
function track(a: CliProcess): CliProcess {
  cleanups.push(async () => void (await a.stop('SIGKILL')));
  return a;
}
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
function realSymbol(name: string): bigint {
  const line = readFileSync('/proc/kallsyms', 'utf8').split('\n').find((l) => l.endsWith(` ${name}`) && / [tT] /.test(l));
  assert.ok(line, `${name} in /proc/kallsyms`);
  const addr = BigInt(`0x${line.split(' ')[0]}`);
  assert.notEqual(addr, 0n, '/proc/kallsyms shows real addresses');
  return addr;
}
const hex = (a: bigint): string => a.toString(16).padStart(16, '0');
const agentArgs = (port: number): string[] => ['agent', '--source', 'bpf', '--interval', '1s', '--metrics-address', `127.0.0.1:${port}`, '--otlp-endpoint', 'off', '--final-scrape-wait', '0'];

test('agent, module loaded after start (fixture kallsyms): /metrics names the drops by the new [module] symbol', { skip: probeSkipReason() ?? false, timeout: 180_000 }, async () => {
  const udp = realSymbol(dropFunction('udp4'));
  const proc = mkdtempSync(join(tmpdir(), 'kdrop-agent-proc-'));
  cleanups.push(() => rmSync(proc, { recursive: true, force: true }));
  mkdirSync(join(proc, 'sys', 'kernel'), { recursive: true });
  writeFileSync(join(proc, 'sys', 'kernel', 'kptr_restrict'), '0\n');
  writeFileSync(join(proc, 'kallsyms'), 'ffffffff81000000 T _stext\nffffffff81000100 T _stext_end\n');
  const ns = await createNetns('kdropaks');
  cleanups.push(() => ns.remove());
  const port = await freePort();
  const a = track(startCli(['--proc', proc, ...agentArgs(port)], NO_KUBE));
  await a.waitForLog('kdrop agent started', 90_000);
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  await ns.sendUdp(5, { family: 4, port: 9 });
  assert.ok(await waitFor(async () => /kdrop_packet_drops_total\{[^}]*function="0xffffffff[0-9a-f]{8}"/.test(await metrics()), 30_000, 200), 'unresolved drops exported by address before the module loads');
  const tmp = join(proc, 'kallsyms.new');
  writeFileSync(tmp, `${hex(udp)} t mod_udp_rcv\t[kdropmod]\n${hex(udp + 0x2000n)} t mod_udp_end\t[kdropmod]\nffffffff81000000 T _stext\nffffffff81000100 T _stext_end\n`);
  renameSync(tmp, join(proc, 'kallsyms'));
  // The unresolved address is retried at most every 10 s: keep making drops until they resolve.
  const named = await waitFor(
    async () => {
      await ns.sendUdp(3, { family: 4, port: 9 });
      await new Promise((r) => setTimeout(r, 1000));
      return /function="mod_udp_rcv"/.test(await metrics());
    },
    60_000,
    0,
  );
  assert.ok(named, 'a series named mod_udp_rcv');
  assert.equal(await a.stop('SIGTERM'), 0);
});

test('agent, kptr_restrict=2 at start: stops with the KALLSYMS_RESTRICTED message and says how to fix it', { skip: probeSkipReason() ?? (existsSync(KPTR) ? false : `no ${KPTR}`), timeout: 120_000 }, async () => {
  const original = readFileSync(KPTR, 'utf8').trim();
  let code: number | null;
  let a: CliProcess;
  try {
    writeFileSync(KPTR, '2');
    a = track(startCli(agentArgs(await freePort()), NO_KUBE));
    code = await a.exited;
  } finally {
    writeFileSync(KPTR, original);
  }
  assert.equal(readFileSync(KPTR, 'utf8').trim(), original, 'kptr_restrict restored');
  assert.notEqual(code, 0);
  const err = a.stderrLines.join('\n');
  // The agent logs the error's message (the table's load gives the same one).
  assert.match(err, /"err":"\/proc\/kallsyms shows only zero addresses;[^"]*kernel\.kptr_restrict=2\)[^"]*sysctl -w kernel\.kptr_restrict=1[^"]*","msg":"kernel symbols cannot be loaded; stopping"/);
});
