/**
 * Real Helm for chart tests: built from its Go module by scripts/tools/helm.sh (cached outside the repo),
 * then `helm lint` / `helm template` on charts/kdrop with the rendered YAML parsed into objects.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadAll } from 'js-yaml';

const run = promisify(execFile);

/** Repository root (tests run from dist/test/e2e/...). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const chartDir = `${repoRoot}charts/kdrop`;
const helmScript = `${repoRoot}scripts/tools/helm.sh`;

/** A rendered Kubernetes object, loosely typed: tests navigate it with `path()`. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Why Helm cannot be had here, or null. */
export function helmSkipReason(): string | null {
  if (!existsSync(helmScript)) return `no ${helmScript}`;
  if (hasGo()) return null;
  const cache = process.env['KDROP_TOOLS_CACHE'] ?? '/var/cache/kdrop-tools';
  const cached = existsSync(cache) && readdirSync(cache).some((d) => d.startsWith('helm-') && existsSync(`${cache}/${d}/helm`));
  return cached ? null : 'needs go to build helm (scripts/tools/helm.sh), or a helm in the tools cache';
}

function hasGo(): boolean {
  const path = process.env['PATH'] ?? '';
  return path.split(':').some((dir) => dir !== '' && existsSync(`${dir}/go`));
}

let helmPath: Promise<string> | undefined;

/** Path of the helm binary (builds it on first use: minutes). */
export function helm(): Promise<string> {
  helmPath ??= run('bash', [helmScript], { maxBuffer: 16 << 20, timeout: 15 * 60_000 }).then(({ stdout }) => {
    const last = stdout.trim().split('\n').at(-1) ?? '';
    if (!last.endsWith('/helm')) throw new Error(`helm.sh printed no helm path: ${stdout}`);
    return last;
  });
  return helmPath;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws on a non-zero exit (the result says). */
export async function runHelm(args: readonly string[]): Promise<HelmResult> {
  const bin = await helm();
  try {
    const { stdout, stderr } = await run(bin, args, { maxBuffer: 64 << 20, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

export interface RenderOptions {
  valuesFiles?: readonly string[];
  set?: readonly string[];
  release?: string;
  namespace?: string;
}

function renderArgs(opts: RenderOptions): string[] {
  const args = ['template', opts.release ?? 'kdrop', chartDir, '--namespace', opts.namespace ?? 'kdrop-system'];
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  for (const s of opts.set ?? []) args.push('--set', s);
  return args;
}

/** `helm template` and the parsed objects; throws with helm's stderr when rendering fails. */
export async function render(opts: RenderOptions = {}): Promise<{ yaml: string; objects: K8sObject[] }> {
  const res = await runHelm(renderArgs(opts));
  if (res.code !== 0) throw new Error(`helm template failed (${res.code}): ${res.stderr}`);
  let docs: unknown[];
  try {
    docs = loadAll(res.stdout);
  } catch (err) {
    // js-yaml's error carries the whole input: keep only its message.
    throw new Error(`helm template output is not valid YAML: ${(err as Error).message.slice(0, 600)}`);
  }
  const objects = docs.filter((d): d is K8sObject => d !== null && typeof d === 'object');
  return { yaml: res.stdout, objects };
}

/** `helm template` expected to fail: returns helm's stderr. */
export async function renderError(opts: RenderOptions): Promise<string> {
  const res = await runHelm(renderArgs(opts));
  if (res.code === 0) throw new Error(`helm template succeeded but was expected to fail: ${renderArgs(opts).join(' ')}`);
  return res.stderr;
}

/** The single object of this kind (and name, when given); throws when there is not exactly one. */
export function one(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  }
  return found[0]!;
}

/** Walks a dotted path ("spec.template.spec.containers.0.name") through plain objects and arrays. */
export function path(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const key of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(key)] : (cur as Record<string, unknown>)[key];
  }
  return cur;
}
