/**
 * `kdrop doctor`: checks every prerequisite of `kdrop watch` / `kdrop agent` on this node and says what
 * is missing and how to fix it. The check functions are pure (they take what was read from the host) so
 * they are unit-tested on fixture inputs; runDoctor gathers the inputs and prints the verdicts.
 * Exit code 0 when `kdrop watch` can run, 1 when it cannot (no tracepoint, or none of the kernel probe,
 * bpftrace and a writable tracefs).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rmdir, stat, statfs } from 'node:fs/promises';
import { release as osRelease } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { isKdropError } from '../errors.js';
import type { HostPaths } from '../host-paths.js';
import { capabilityNames, hasCapability, parseCapEff } from '../kernel/capabilities.js';
import { hasField, parseFormat } from '../kernel/format.js';
import { findTracefs } from '../kernel/tracefs.js';
import { parseKallsyms } from '../symbolize/kallsyms.js';
import { readKptrRestrict } from '../symbolize/kallsyms-symbolizer.js';
import { checkProbe as runProbeCheck, isExecutable, probePath, type ProbeCheck } from '../source/bpf/index.js';

const run = promisify(execFile);

export type Verdict = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  /** Short stable name: privileges, kernel, tracefs, tracepoint, probe, bpffs, bpftrace, btf, kallsyms. */
  readonly name: string;
  readonly verdict: Verdict;
  /** What was found, in words. */
  readonly found: string;
  /** How to fix it; null when nothing needs fixing. */
  readonly fix: string | null;
}

export interface DoctorReport {
  /** Whether `kdrop watch` can run. */
  readonly ready: boolean;
  /** Which sources can run. */
  readonly sources: { readonly bpf: boolean; readonly bpftrace: boolean; readonly tracefs: boolean };
  readonly checks: readonly DoctorCheck[];
}

const check = (name: string, verdict: Verdict, found: string, fix: string | null = null): DoctorCheck => ({ name, verdict, found, fix });

// ---------------------------------------------------------------- pure checks

/** Root and effective capabilities, from the euid and the text of /proc/self/status. */
/**
 * `kernel` is the running kernel's [major, minor] when known: since 5.11 BPF memory is charged to the
 * memory cgroup, not RLIMIT_MEMLOCK, so CAP_SYS_RESOURCE is only needed on older kernels.
 */
export function checkPrivileges(euid: number | null, statusText: string | null, kernel: [number, number] | null = null): DoctorCheck {
  const who = euid === null ? 'unknown user' : euid === 0 ? 'root (euid 0)' : `euid ${euid} (not root)`;
  if (statusText === null) {
    return check('privileges', euid === 0 ? 'warn' : 'fail', `${who}; effective capabilities unreadable`, 'run as root (or with CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON, and CAP_SYSLOG)');
  }
  let mask: bigint;
  try {
    mask = parseCapEff(statusText);
  } catch (err) {
    return check('privileges', 'warn', `${who}; ${(err as Error).message}`, 'run as root with a full capability set');
  }
  const names = capabilityNames(mask);
  const capsText = names.length === 0 ? 'none of the needed capabilities' : names.join(', ');
  const found = `${who}; CapEff ${mask.toString(16).padStart(16, '0')} (${capsText})`;
  const canTrace = hasCapability(mask, 'CAP_SYS_ADMIN') || (hasCapability(mask, 'CAP_BPF') && hasCapability(mask, 'CAP_PERFMON'));
  if (!canTrace) {
    return check('privileges', 'fail', found, 'run as root, or grant CAP_SYS_ADMIN (or CAP_BPF + CAP_PERFMON) and CAP_SYSLOG; in Kubernetes use a privileged container');
  }
  const memlockCharged = kernel === null || kernel[0] < 5 || (kernel[0] === 5 && kernel[1] < 11);
  const wanted = memlockCharged ? (['CAP_SYSLOG', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_RESOURCE'] as const) : (['CAP_SYSLOG', 'CAP_DAC_READ_SEARCH'] as const);
  const missing = wanted.filter((c) => !hasCapability(mask, c));
  if (euid !== 0 || missing.length > 0) {
    const why: string[] = [];
    if (euid !== 0) why.push('bpftrace 0.17 needs euid 0');
    if (missing.includes('CAP_SYSLOG')) why.push('without CAP_SYSLOG /proc/kallsyms shows zero addresses');
    if (missing.includes('CAP_DAC_READ_SEARCH')) why.push('without CAP_DAC_READ_SEARCH other processes\' /proc/<pid>/ns/net cannot be read');
    if (missing.includes('CAP_SYS_RESOURCE')) why.push('without CAP_SYS_RESOURCE the BPF memlock limit cannot be raised (kernels before 5.11)');
    return check('privileges', 'warn', `${found}; missing ${missing.join(', ') || 'root'}`, `${why.join('; ')}: run as root with these capabilities`);
  }
  return check('privileges', 'ok', found);
}

/** `6.18.44-fc-v657` -> [6, 18]; null when it does not start with two numbers. */
export function parseKernelRelease(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m === null ? null : [Number(m[1]), Number(m[2])];
}

/** Kernel version and what it implies (drop reasons since 5.17, rx_sk since 6.11). */
export function checkKernelVersion(release: string | null): DoctorCheck {
  if (release === null) return check('kernel', 'warn', 'kernel release unreadable', null);
  const v = parseKernelRelease(release);
  if (v === null) return check('kernel', 'warn', `Linux ${release.trim()} (version not understood)`, null);
  const [major, minor] = v;
  const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);
  if (!atLeast(5, 17)) {
    return check('kernel', 'warn', `Linux ${release.trim()}: before 5.17, kfree_skb has no drop reason (unless a vendor backported it)`, 'upgrade to Linux 5.17 or later to get drop reasons; locations and counts work without them');
  }
  const features = atLeast(6, 11) ? 'drop reasons and rx_sk' : 'drop reasons';
  return check('kernel', 'ok', `Linux ${release.trim()} (${features})`);
}

export interface TracefsProbe {
  /** Where tracefs is mounted, or null when not found. */
  readonly path: string | null;
  /** Why it was not found. */
  readonly error: string | null;
  /** Whether an instance could be made under instances/; null when not tried. */
  readonly writable: boolean | null;
  /** Why no instance could be made. */
  readonly writeError: string | null;
}

export function checkTracefs(p: TracefsProbe): DoctorCheck {
  if (p.path === null) {
    return check('tracefs', 'fail', `not mounted${p.error === null ? '' : ` (${p.error})`}`, 'run as root: mount -t tracefs nodev /sys/kernel/tracing (in a container, mount the host\'s /sys/kernel/tracing)');
  }
  if (p.writable === true) return check('tracefs', 'ok', `mounted at ${p.path} (writable)`);
  return check('tracefs', 'warn', `mounted at ${p.path} (not writable: ${p.writeError ?? 'unknown'})`, 'the tracefs source needs to create instances: run as root with tracefs mounted read-write');
}

/** The skb:kfree_skb tracepoint, from the text of its format file (null with the error when unreadable). */
export function checkTracepoint(formatText: string | null, error: string | null): DoctorCheck {
  if (formatText === null) {
    return check('tracepoint', 'fail', `skb:kfree_skb not available${error === null ? '' : ` (${error})`}`, 'kdrop needs the skb:kfree_skb tracepoint: a kernel with CONFIG_TRACEPOINTS and tracefs mounted');
  }
  let f;
  try {
    f = parseFormat(formatText);
  } catch (err) {
    return check('tracepoint', 'fail', `skb:kfree_skb format unreadable: ${(err as Error).message}`, 'report this kernel\'s format file (events/skb/kfree_skb/format) as a kdrop bug');
  }
  const fields = f.fields.map((x) => x.name).join(', ');
  const reason = hasField(f, 'reason');
  const rxSk = hasField(f, 'rx_sk');
  const base = `skb:kfree_skb (id ${f.id}) fields ${fields}; reason: ${reason ? 'yes' : 'no'}, rx_sk: ${rxSk ? 'yes' : 'no'}`;
  if (!hasField(f, 'location')) {
    return check('tracepoint', 'fail', `${base}; no location field`, 'kdrop needs the location field of skb:kfree_skb');
  }
  if (!reason) {
    return check('tracepoint', 'warn', `${base}; no drop reasons on this kernel`, 'drops are counted per location only; Linux 5.17+ adds reasons');
  }
  if (f.reasons.size === 0) {
    return check('tracepoint', 'warn', `${base}; the print fmt has no reason names`, 'reasons are shown as UNKNOWN_<code>; names come from BTF (enum skb_drop_reason) when /sys/kernel/btf/vmlinux exists');
  }
  return check('tracepoint', 'ok', `${base}; ${f.reasons.size} reason names`);
}

export interface BpftraceProbe {
  readonly path: string;
  /** First line of `bpftrace --version`, or null when it could not run. */
  readonly version: string | null;
  readonly error: string | null;
}

export function checkBpftrace(p: BpftraceProbe, privileged: boolean): DoctorCheck {
  if (p.version === null) {
    return check('bpftrace', 'warn', `${p.path} not runnable${p.error === null ? '' : ` (${p.error})`}`, 'install bpftrace (apt-get install bpftrace) for in-kernel counting and per-pod attribution; without it the tracefs source is used');
  }
  if (!privileged) {
    return check('bpftrace', 'warn', `${p.version} at ${p.path}, but this process cannot load BPF programs`, 'run as root (bpftrace 0.17 needs euid 0)');
  }
  return check('bpftrace', 'ok', `${p.version} at ${p.path}`);
}

export interface ProbeProbe {
  readonly path: string;
  /** False when there is no executable kdrop-probe at path. */
  readonly present: boolean;
  /** `kdrop-probe --check` per attach type; null when it could not run. */
  readonly results: readonly ProbeCheck[] | null;
  readonly error: string | null;
}

/** The kernel probe of the bpf source: built, and which attach type loads on this kernel. */
export function checkKernelProbe(p: ProbeProbe): DoctorCheck {
  if (!p.present) {
    return check('probe', 'warn', `no kdrop-probe at ${p.path}`, 'build it with scripts/build-probe.sh (Debian: clang, libbpf-dev, bpftool, ...; scripts/setup.sh installs them) or set KDROP_PROBE=PATH; until then `auto` uses bpftrace');
  }
  if (p.results === null || p.results.length === 0) {
    return check('probe', 'warn', `kdrop-probe at ${p.path} did not run (${p.error ?? 'no output'})`, 'run `kdrop-probe --check -v` for the loader\'s own messages');
  }
  const text = p.results.map((r) => (r.ok ? `${r.attach} ok` : `${r.attach} failed (${r.message})`)).join(', ');
  const first = p.results.find((r) => r.ok);
  if (first === undefined) {
    return check('probe', 'warn', `kdrop-probe at ${p.path}: ${text}`, 'the probe needs kernel BTF and CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN, or root); `auto` falls back to bpftrace, then tracefs');
  }
  return check('probe', 'ok', `kdrop-probe at ${p.path}: ${text}; attaches through ${first.attach}`);
}

/** bpffs, where the probe pins its maps and link so a loader restart counts on. */
export function checkBpffs(path: string, mounted: boolean | null): DoctorCheck {
  if (mounted === true) return check('bpffs', 'ok', `mounted at ${path}`);
  return check(
    'bpffs',
    'warn',
    mounted === null ? `${path} unreadable` : `not mounted at ${path}`,
    `kdrop-probe mounts it when it has CAP_SYS_ADMIN (mount -t bpf bpf ${path}; in Kubernetes mount the host's ${path}); without it the maps are not pinned and the drops while a crashed loader restarts are not counted`,
  );
}

export function checkBtf(path: string, present: boolean): DoctorCheck {
  if (present) return check('btf', 'ok', `${path} present`);
  return check('btf', 'warn', `${path} missing`, 'the kernel probe, and the per-drop network namespace (pod attribution) with bpftrace, need BTF: a kernel built with CONFIG_DEBUG_INFO_BTF=y');
}

/** /proc/kallsyms (its first lines suffice) and kptr_restrict. */
export function checkKallsyms(text: string | null, kptrRestrict: number | null, error: string | null): DoctorCheck {
  const kr = kptrRestrict === null ? 'kptr_restrict unknown' : `kptr_restrict=${kptrRestrict}`;
  if (text === null) {
    return check('kallsyms', 'warn', `/proc/kallsyms unreadable (${error ?? 'unknown error'}; ${kr})`, 'drop locations will be raw addresses; run as root, or pass --map /boot/System.map-$(uname -r) where the command takes one');
  }
  try {
    const symbols = parseKallsyms(text, { kptrRestrict });
    if (symbols.length === 0) return check('kallsyms', 'warn', `/proc/kallsyms is empty (${kr})`, 'drop locations will be raw addresses');
  } catch (err) {
    if (isKdropError(err)) {
      const fix = err.hint ?? 'drop locations will be raw addresses';
      return check('kallsyms', 'warn', `${err.message.split(';')[0] ?? err.message} (${kr})`, fix);
    }
    throw err;
  }
  return check('kallsyms', 'ok', `readable with real addresses (${kr})`);
}

/** Whether `kdrop watch` can run, from the checks. */
export function summarize(checks: readonly DoctorCheck[], privileged: boolean): DoctorReport {
  const byName = (n: string) => checks.find((c) => c.name === n);
  const tracepointOk = byName('tracepoint')?.verdict !== 'fail';
  const bpftrace = tracepointOk && privileged && byName('bpftrace')?.verdict === 'ok';
  const tracefs = tracepointOk && byName('tracefs')?.verdict === 'ok';
  const bpf = tracepointOk && byName('probe')?.verdict === 'ok';
  return { ready: bpf || bpftrace || tracefs, sources: { bpf, bpftrace, tracefs }, checks };
}

const LABEL: Record<Verdict, string> = { ok: '[ ok ]', warn: '[warn]', fail: '[FAIL]' };

/** The human form: one line per check, `  fix: ...` under warn/fail, then a verdict line. */
export function renderHuman(report: DoctorReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${LABEL[c.verdict]} ${c.name}: ${c.found}`);
    if (c.fix !== null && c.verdict !== 'ok') lines.push(`  fix: ${c.fix}`);
  }
  const sources = (['bpf', 'bpftrace', 'tracefs'] as const).filter((s) => report.sources[s]);
  lines.push(report.ready ? `kdrop watch can run (sources: ${sources.join(', ')})` : 'kdrop watch cannot run: see the checks marked FAIL/warn above');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- probes (read the host)

async function readText(path: string): Promise<{ text: string | null; error: string | null }> {
  try {
    return { text: await readFile(path, 'utf8'), error: null };
  } catch (err) {
    return { text: null, error: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function probeTracefs(paths: HostPaths): Promise<TracefsProbe> {
  let path: string;
  try {
    path = await findTracefs(paths);
  } catch (err) {
    return { path: null, error: isKdropError(err) ? err.message : String(err), writable: null, writeError: null };
  }
  const dir = join(path, 'instances', `kdrop-doctor-${process.pid}-${randomBytes(3).toString('hex')}`);
  try {
    await mkdir(dir);
  } catch (err) {
    return { path, error: null, writable: false, writeError: `cannot create an instance: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  try {
    await rmdir(dir);
  } catch (err) {
    return { path, error: null, writable: true, writeError: `instance ${dir} created but not removed: ${String(err)}` };
  }
  return { path, error: null, writable: true, writeError: null };
}

async function probeBpftrace(bin: string): Promise<BpftraceProbe> {
  try {
    const { stdout, stderr } = await run(bin, ['--version'], { timeout: 10_000 });
    const line = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).find((l) => l !== '');
    return { path: bin, version: line ?? 'unknown version', error: null };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { killed?: boolean };
    return { path: bin, version: null, error: e.killed === true ? 'timed out' : (e.code ?? e.message) };
  }
}

const BPF_FS_MAGIC = 0xcafe4a11;

async function probeBpffs(path: string): Promise<boolean | null> {
  try {
    return (await statfs(path)).type === BPF_FS_MAGIC;
  } catch {
    return null;
  }
}

async function probeKernelProbe(path: string): Promise<ProbeProbe> {
  if (!(await isExecutable(path))) return { path, present: false, results: null, error: null };
  try {
    return { path, present: true, results: (await runProbeCheck(path)).results, error: null };
  } catch (err) {
    return { path, present: true, results: null, error: (err as Error).message };
  }
}

/** Runs every check on this host and prints them. */
export async function runDoctor(opts: { paths: HostPaths; out: NodeJS.WritableStream; json: boolean; bpftrace?: string; probe?: string }): Promise<number> {
  const { paths } = opts;
  const euid = process.geteuid?.() ?? null;
  const status = await readText(join(paths.proc, 'self', 'status'));
  const releaseFile = await readText(join(paths.proc, 'sys', 'kernel', 'osrelease'));
  const releaseText = releaseFile.text ?? (paths.proc === '/proc' ? osRelease() : null);
  const privileges = checkPrivileges(euid, status.text, releaseText === null ? null : parseKernelRelease(releaseText));
  let privileged = euid === 0;
  if (status.text !== null && !privileged) {
    try {
      const mask = parseCapEff(status.text);
      privileged = hasCapability(mask, 'CAP_SYS_ADMIN') || (hasCapability(mask, 'CAP_BPF') && hasCapability(mask, 'CAP_PERFMON'));
    } catch {
      privileged = false;
    }
  }
  const kernel = checkKernelVersion(releaseText);

  const tf = await probeTracefs(paths);
  const tracefs = checkTracefs(tf);
  let tracepoint: DoctorCheck;
  if (tf.path === null) {
    tracepoint = checkTracepoint(null, 'tracefs not found');
  } else {
    const fmt = await readText(join(tf.path, 'events', 'skb', 'kfree_skb', 'format'));
    tracepoint = checkTracepoint(fmt.text, fmt.error);
  }
  const bpffsPath = join(paths.sys, 'fs', 'bpf');
  const [kp, bpffs, bp, btfPresent, kallsyms, kptrRestrict] = await Promise.all([
    probeKernelProbe(opts.probe ?? probePath()),
    probeBpffs(bpffsPath),
    probeBpftrace(opts.bpftrace ?? 'bpftrace'),
    exists(join(paths.sys, 'kernel', 'btf', 'vmlinux')),
    readText(join(paths.proc, 'kallsyms')),
    readKptrRestrict(paths.proc),
  ]);
  // The first lines tell whether addresses are real; parsing all of them would cost time for nothing.
  const head = kallsyms.text === null ? null : kallsyms.text.split('\n', 2000).join('\n');
  const checks = [
    privileges,
    kernel,
    tracefs,
    tracepoint,
    checkKernelProbe(kp),
    checkBpffs(bpffsPath, bpffs),
    checkBpftrace(bp, privileged),
    checkBtf(join(paths.sys, 'kernel', 'btf', 'vmlinux'), btfPresent),
    checkKallsyms(head, kptrRestrict, kallsyms.error),
  ];
  const report = summarize(checks, privileged);
  opts.out.write(opts.json ? `${JSON.stringify(report)}\n` : renderHuman(report));
  return report.ready ? 0 : 1;
}
