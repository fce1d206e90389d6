/** In the VM: `kdrop doctor --json` and `kdrop explain` for every reason of this kernel. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliPath } from '../helpers/cli.js';
import { explain, kernelReasonTable } from '../../src/commands/explain.js';
import { defaultHostPaths } from '../../src/host-paths.js';
import type { GuestFacts } from './guest-facts.js';
import type { Kdrop } from './guest-drops.js';

const run = promisify(execFile);

async function cli(args: readonly string[], kdrop?: Kdrop): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...pre] = kdrop?.command ?? [process.execPath, cliPath];
  try {
    const { stdout, stderr } = await run(cmd!, [...pre, ...args], { maxBuffer: 16 << 20, timeout: 120_000, env: { ...process.env, ...kdrop?.env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `kdrop doctor --json`: the compiled CLI on this Node, or `kdrop` (an image's entrypoint, guest-image.ts). */
export async function doctorCheck(kdrop?: Kdrop): Promise<Record<string, unknown>> {
  const r = await cli(['doctor', '--json'], kdrop);
  const report = JSON.parse(r.stdout) as { ready: boolean; sources: Record<string, boolean>; checks: { name: string; verdict: string; found: string }[] };
  return { code: r.code, ready: report.ready, sources: report.sources, checks: report.checks.map((c) => ({ name: c.name, verdict: c.verdict, found: c.found })) };
}

/**
 * Every reason name of this kernel's format, explained through the CLI's own code (one process: a Node start
 * per reason would take minutes under TCG), and two through the CLI (by name and by code).
 */
export async function explainCheck(facts: GuestFacts): Promise<Record<string, unknown>> {
  const table = await kernelReasonTable(defaultHostPaths);
  const answers = Object.entries(facts.reasons).map(([name, code]) => {
    const e = explain(name, table);
    return { name, code, codes: e.codes, class: e.class, documented: e.documented, meaningful: e.meaning.length > 0 };
  });
  const cliAnswers = [];
  const names = Object.keys(facts.reasons);
  for (const q of names.length ? [names[names.length - 1]!, String(facts.reasons[names[0]!])] : ['NO_SOCKET']) {
    const r = await cli(['explain', '--json', q]);
    let doc: Record<string, unknown> = {};
    try {
      doc = JSON.parse(r.stdout) as Record<string, unknown>;
    } catch {
      /* reported below */
    }
    cliAnswers.push({ query: q, code: r.code, name: doc['name'], codes: doc['codes'], class: doc['class'], stderr: r.stderr.slice(-500) });
  }
  return { kernelRead: table !== null, answers, cli: cliAnswers };
}
