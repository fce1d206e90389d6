/**
 * `kdrop doctor`: checks every prerequisite of `kdrop watch` / `kdrop agent` on this node and says what
 * is missing and how to fix it. The checks are pure functions over the host's facts (src/host/facts.ts,
 * the same probe `watch` and `agent` use), unit-tested on fixture inputs; runDoctor probes and prints.
 * Exit code 0 when `kdrop watch` can run, 1 when it cannot (no tracepoint, or none of the kernel probe,
 * bpftrace and a writable tracefs).
 */
import { isKdropError } from '../errors.js';
import type { HostPaths } from '../host-paths.js';
import type { TracepointFormat } from '../kernel/types.js';
import { capabilityNames, hasCapability, parseCapEff } from '../kernel/capabilities.js';
import { hasField } from '../kernel/format.js';
import { parseKallsyms } from '../symbolize/kallsyms.js';
import { MIN_BPFTRACE } from '../source/bpftrace/version.js';
import { checkCounters, probeCounters } from './doctor-counters.js';
import { bpftraceCommand, probeHost, type HostFacts, type ProbeFacts, type TracefsFacts, type TracerFacts } from '../host/facts.js';

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
    return check('privileges', 'fail', found, 'run as root, or grant CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN) and CAP_SYSLOG; in Kubernetes the chart grants exactly what is needed (CAP_BPF, CAP_PERFMON, CAP_SYSLOG, CAP_SYS_PTRACE: docs/security.md), no privileged container');
  }
  const memlockCharged = kernel === null || kernel[0] < 5 || (kernel[0] === 5 && kernel[1] < 11);
  const wanted = memlockCharged ? (['CAP_SYSLOG', 'CAP_SYS_PTRACE', 'CAP_SYS_RESOURCE'] as const) : (['CAP_SYSLOG', 'CAP_SYS_PTRACE'] as const);
  const missing = wanted.filter((c) => !hasCapability(mask, c));
  if (euid !== 0 || missing.length > 0) {
    const why: string[] = [];
    if (euid !== 0) why.push('bpftrace 0.17 needs euid 0');
    if (missing.includes('CAP_SYSLOG')) why.push('without CAP_SYSLOG /proc/kallsyms shows zero addresses');
    if (missing.includes('CAP_SYS_PTRACE')) why.push('without CAP_SYS_PTRACE other processes\' /proc/<pid>/ns/net cannot be read (pod attribution)');
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

/**
 * Kernel version and what it implies: the kernel probe needs the BPF ring buffer (5.8; before it the probe
 * does not load), takes BPF compare-and-swap from 5.12 (before it the loader loads its pre-5.12 object),
 * drop reasons since 5.17, rx_sk since 6.11.
 */
export function checkKernelVersion(release: string | null): DoctorCheck {
  if (release === null) return check('kernel', 'warn', 'kernel release unreadable', null);
  const v = parseKernelRelease(release);
  if (v === null) return check('kernel', 'warn', `Linux ${release.trim()} (version not understood)`, null);
  const [major, minor] = v;
  const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);
  if (!atLeast(5, 8)) {
    return check(
      'kernel',
      'warn',
      `Linux ${release.trim()}: before 5.8, no BPF ring buffer: the kernel probe does not load (its samples map is refused; privileges do not change that), and kfree_skb has no drop reason`,
      '`auto` uses bpftrace (per-netns counts, pod attribution), else tracefs (no pods); upgrade to Linux 5.8 or later for the kernel probe and samples, 5.17 for drop reasons',
    );
  }
  const pre512 = atLeast(5, 12) ? '' : '; the kernel probe loads its pre-5.12 object (no BPF atomics but add: counts exact, a sample bucket may let one extra sample through per racing CPU)';
  if (!atLeast(5, 17)) {
    return check('kernel', 'warn', `Linux ${release.trim()}: before 5.17, kfree_skb has no drop reason (unless a vendor backported it)${pre512}`, 'upgrade to Linux 5.17 or later to get drop reasons; locations and counts work without them');
  }
  const features = atLeast(6, 11) ? 'drop reasons and rx_sk' : 'drop reasons';
  return check('kernel', 'ok', `Linux ${release.trim()} (${features})`);
}

export function checkTracefs(t: TracefsFacts): DoctorCheck {
  if (t.dir === null) {
    return check('tracefs', 'fail', `not mounted${t.error === null ? '' : ` (${t.error.message})`}`, 'run as root: mount -t tracefs nodev /sys/kernel/tracing (in a container, mount the host\'s /sys/kernel/tracing)');
  }
  if (t.writable) return check('tracefs', 'ok', `mounted at ${t.dir} (writable)`);
  return check('tracefs', 'warn', `mounted at ${t.dir} (instances/ not writable)`, 'the tracefs source needs to create instances: run as root with tracefs mounted read-write');
}

/** The skb:kfree_skb tracepoint: its parsed format, or the error that says why it is unavailable. */
export function checkTracepoint(f: TracepointFormat | null, error: string | null): DoctorCheck {
  if (f === null) {
    return check('tracepoint', 'fail', `skb:kfree_skb not available${error === null ? '' : ` (${error})`}`, 'kdrop needs the skb:kfree_skb tracepoint: a kernel with CONFIG_TRACEPOINTS and tracefs mounted; if the format file could not be parsed, report it as a kdrop bug');
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

export function checkBpftrace(t: TracerFacts, privileged: boolean): DoctorCheck {
  const cmd = t.command.join(' ');
  if (t.version === null) {
    return check('bpftrace', 'warn', `${cmd}: ${t.error ?? 'not runnable'}`, `install bpftrace ${MIN_BPFTRACE.major}.${MIN_BPFTRACE.minor} or newer (apt-get install bpftrace; KDROP_BPFTRACE names another command) for in-kernel counting and per-pod attribution; without it the tracefs source is used`);
  }
  const v = `bpftrace ${t.version.major}.${t.version.minor}.${t.version.patch}`;
  if (!privileged) {
    return check('bpftrace', 'warn', `${v} (${cmd}), but this process cannot load BPF programs`, 'run as root (bpftrace 0.17 needs euid 0)');
  }
  return check('bpftrace', 'ok', `${v} (${cmd}; ${t.dialect?.attach ?? 'unknown'} attach)`);
}

export function checkKernelProbe(p: ProbeFacts): DoctorCheck {
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

/** Whether this process may load BPF programs: root, or CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN. */
function canLoadBpf(facts: HostFacts): boolean {
  if (facts.euid === 0) return true;
  const m = facts.capEff;
  return m !== null && (hasCapability(m, 'CAP_SYS_ADMIN') || (hasCapability(m, 'CAP_BPF') && hasCapability(m, 'CAP_PERFMON')));
}

/** Every check over the host's facts: pure. */
export function doctorReport(facts: HostFacts): DoctorReport {
  const privileged = canLoadBpf(facts);
  const release = facts.kernelRelease;
  const checks = [
    checkPrivileges(facts.euid, facts.statusText, release === null ? null : parseKernelRelease(release)),
    checkKernelVersion(release),
    checkTracefs(facts.tracefs),
    checkTracepoint(facts.tracepoint.format, facts.tracepoint.error?.message ?? null),
    checkKernelProbe(facts.probe),
    checkBpffs(facts.bpffs.path, facts.bpffs.mounted),
    checkBpftrace(facts.tracer, privileged),
    checkBtf(facts.btf.path, facts.btf.present),
    checkKallsyms(facts.kallsyms.head, facts.kallsyms.kptrRestrict, facts.kallsyms.error),
  ];
  return summarize(checks, privileged);
}

/** Probes this host (as `watch` does, but never mounting anything) and prints every check. */
export async function runDoctor(opts: { paths: HostPaths; out: NodeJS.WritableStream; json: boolean; bpftrace?: readonly string[]; probe?: string }): Promise<number> {
  const facts = await probeHost(opts.paths, { bpftraceCommand: opts.bpftrace ?? bpftraceCommand(), checkProbe: true, kallsymsHead: true, ...(opts.probe === undefined ? {} : { probe: opts.probe }) });
  const base = doctorReport(facts);
  const report = { ...base, checks: [...base.checks, checkCounters(await probeCounters(opts.paths, opts.probe))] };
  opts.out.write(opts.json ? `${JSON.stringify(report)}\n` : renderHuman(report));
  return report.ready ? 0 : 1;
}
