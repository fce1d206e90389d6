/**
 * Real network namespaces for kernel tests: made fresh, used to create drops whose exact count the test
 * knows, and always removed. Needs root and iproute2.
 */
import { execFile } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);
const senderScript = fileURLToPath(new URL('./udp-sender.js', import.meta.url));

export interface TestNetns {
  readonly name: string;
  readonly inode: number;
  /** Runs a command inside the namespace. */
  exec(argv: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** Sends exactly `count` UDP datagrams of `size` bytes to a closed port; resolves when all were sent. */
  /** `family: 'alt'`: `count` datagrams to each of IPv4 and IPv6, alternating one by one. */
  sendUdp(count: number, opts?: { family?: 4 | 6 | 'alt'; port?: number; size?: number }): Promise<void>;
  /** Adds an nftables table in the namespace that drops UDP to `port` on input. */
  addNftDrop(port: number): Promise<void>;
  remove(): Promise<void>;
}

/** Why kernel tests cannot run here, or null when they can. */
export function kernelTestSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, tracefs, bpftrace)';
  return null;
}

export async function createNetns(prefix = 'kdroptest'): Promise<TestNetns> {
  const name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    const link = await readlink(`/run/netns/${name}`).catch(() => null);
    void link;
    const { stdout } = await run('ip', ['netns', 'exec', name, 'readlink', '/proc/self/ns/net']);
    const m = /net:\[(\d+)\]/.exec(stdout);
    if (!m?.[1]) throw new Error(`cannot read netns inode of ${name}: ${stdout}`);
    const inode = Number(m[1]);
    const exec = (argv: readonly string[]) => run('ip', ['netns', 'exec', name, ...argv], { maxBuffer: 16 << 20 });
    return {
      name,
      inode,
      exec,
      async sendUdp(count, opts = {}) {
        const family = opts.family ?? 4;
        const port = opts.port ?? 9;
        const size = opts.size ?? 16;
        const { stdout } = await exec([process.execPath, senderScript, String(count), String(family), String(port), String(size)]);
        const sent = Number(stdout.trim());
        if (sent !== count) throw new Error(`udp sender sent ${sent}, wanted ${count}`);
      },
      async addNftDrop(p) {
        const rules = `table inet kdroptest { chain input { type filter hook input priority 0; policy accept; udp dport ${p} drop; }; }`;
        await exec(['nft', rules]);
      },
      async remove() {
        await run('ip', ['netns', 'del', name]).catch(() => undefined);
      },
    };
  } catch (err) {
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    throw err;
  }
}

/** Waits until `check` returns true or the time runs out; returns the last result. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
