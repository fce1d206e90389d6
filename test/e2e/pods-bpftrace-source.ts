/**
 * A minimal bpftrace-backed DropSource for the pods e2e test, until the project's bpftrace source is on main:
 * cumulative per-CPU map counts keyed by (location, reason, protocol, netns inode), printed every 200 ms as JSON.
 * Not the product's source: no restarts, no loss accounting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { DropSample, DropSource, SourceFeatures, SourceStats } from '../../src/source/types.js';

const PROGRAM = `
tracepoint:skb:kfree_skb {
  $skb = (struct sk_buff *)args->skbaddr;
  $ns = (uint64)0;
  if ($skb->dev != 0) { $ns = (uint64)$skb->dev->nd_net.net->ns.inum; }
  else { if ($skb->sk != 0) { $ns = (uint64)$skb->sk->__sk_common.skc_net.net->ns.inum; } }
  @c[(uint64)args->location, (uint64)args->reason, (uint64)args->protocol, $ns] = count();
}
interval:ms:200 { print(@c); printf("kdrop-tick\\n"); }
`;

export class TestBpftraceSource implements DropSource {
  readonly name = 'bpftrace' as const;
  readonly features: SourceFeatures = { reason: true, netns: true, bytes: false };
  private child: ChildProcess | null = null;
  private latest = new Map<string, number>();
  private ticks = 0;
  private waiters: Array<{ tick: number; resolve: () => void }> = [];
  private attached!: Promise<void>;

  async start(): Promise<void> {
    const child = spawn('bpftrace', ['-f', 'json', '-e', PROGRAM], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    this.attached = new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bpftrace exited (${code}): ${stderr}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let msg: { type?: string; data?: unknown };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return;
        }
        if (msg.type === 'attached_probes') resolve();
        const data = msg.data as Record<string, Record<string, number> | undefined> | string | undefined;
        if (msg.type === 'map' && typeof data === 'object' && data['@c']) this.latest = new Map(Object.entries(data['@c']));
        // -f json wraps printf output: {"type": "printf", "data": "kdrop-tick\n"}
        if (msg.type === 'printf' && typeof data === 'string' && data.includes('kdrop-tick')) {
          this.ticks++;
          this.waiters = this.waiters.filter((w) => (w.tick <= this.ticks ? (w.resolve(), false) : true));
        }
      });
    });
    await this.attached;
    await this.waitTicks(1);
  }

  /** Totals printed at least one full print interval after the call. */
  async collect(): Promise<DropSample[]> {
    if (this.child !== null && this.child.exitCode === null) await this.waitTicks(2);
    const out: DropSample[] = [];
    for (const [key, count] of this.latest) {
      const [loc, reason, proto, ns] = key.split(',').map((s) => s.trim());
      if (loc === undefined || reason === undefined || proto === undefined || ns === undefined) continue;
      out.push({ address: BigInt(loc), reasonCode: Number(reason), protocol: Number(proto), netns: Number(ns) === 0 ? null : Number(ns), count, bytes: null });
    }
    return out;
  }

  stats(): SourceStats {
    return { lostEvents: 0, restarts: 0, badLines: 0 };
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    await this.waitTicks(2).catch(() => undefined);
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGINT');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }

  onFatal(): void {}

  /** Waits for n more prints; rejects after 30 s so a broken tracer fails the test instead of hanging it. */
  private waitTicks(n: number): Promise<void> {
    const tick = this.ticks + n;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`bpftrace printed no map for 30 s (ticks ${this.ticks})`)), 30_000);
      this.waiters.push({ tick, resolve: () => (clearTimeout(t), resolve()) });
    });
  }
}
