/**
 * Runs inside the VM (dist/test/vm/guest.js, started by the initramfs's /init; never on the host): the real
 * kdrop CLI against this kernel, each check in fresh network namespaces, and one result line per check on the
 * console (`@@KDROP-VM@@ {json}`) with what was sent, what kdrop counted and this kernel's facts. The host
 * (test/vm/matrix.test.ts) asserts on them. A check that throws reports its error; the script itself always
 * exits 0 unless it cannot report at all.
 *   node guest.js matrix   watch (UDP v4/v6, TCP SYN, nftables), trace, loader SIGKILL, doctor, explain, qdisc,
 *                          the kernel drop counters (listen overflows, veth tx drops)
 *   node guest.js cpus     one UDP sender per CPU, each in its own netns, through several rotations
 *   node guest.js counters only the kernel drop counters check (to try it on one kernel)
 *   node guest.js image    the container image's files at /image (guest-image.ts): its Node, doctor and watch
 *                          through its entrypoint in a chroot
 */
import { readFacts, type GuestFacts } from './guest-facts.js';
import { dropsCheck, cpusCheck, qdiscCheck } from './guest-drops.js';
import { countersCheck } from './guest-counters.js';
import { doctorCheck, explainCheck } from './guest-cli.js';
import { imageKdrop, imageNodeCheck, imageWatchCheck, mountImageRoot } from './guest-image.js';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

function report(check: string, data: Record<string, unknown>): void {
  process.stdout.write(`@@KDROP-VM@@ ${JSON.stringify({ check, ...data })}\n`);
}

async function run(check: string, f: () => Promise<Record<string, unknown>>): Promise<void> {
  const t0 = Date.now();
  process.stdout.write(`@@KDROP-VM-PROGRESS@@ ${check} at ${performance.now() / 1000 | 0} s of node, ${readFileSync('/proc/uptime', 'utf8').split(' ')[0]} s up\n`);
  try {
    report(check, { ...(await f()), seconds: (Date.now() - t0) / 1000 });
  } catch (err) {
    report(check, { error: err instanceof Error ? (err.stack ?? err.message) : String(err), seconds: (Date.now() - t0) / 1000 });
  }
}

const mode = process.argv[2] ?? 'matrix';
const facts: GuestFacts = readFacts(availableParallelism());
report('facts', { ...facts });
if (mode === 'cpus') {
  await run('cpus', () => cpusCheck(facts));
} else if (mode === 'counters') {
  await run('counters', () => countersCheck());
} else if (mode === 'image') {
  await run('image-node', async () => (await mountImageRoot(), await imageNodeCheck()));
  await run('doctor', () => doctorCheck(imageKdrop));
  await run('watch', () => imageWatchCheck());
} else {
  let drops: Promise<Awaited<ReturnType<typeof dropsCheck>>> | undefined;
  await run('watch', async () => (await (drops = dropsCheck())).watch);
  for (const part of ['trace', 'kill'] as const) {
    await run(part, async () => (await drops!)[part]);
  }
  // doctor and the explain CLI runs overlap (each a kdrop start).
  const [doctor, explained] = [doctorCheck(), explainCheck(facts)];
  for (const p of [doctor, explained]) p.catch(() => undefined); // reported by run()
  await run('doctor', () => doctor);
  await run('explain', () => explained);
  if (facts.qdiscDrop) await run('qdisc', () => qdiscCheck());
  await run('counters', () => countersCheck());
}
