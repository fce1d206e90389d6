import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  checkBpffs,
  checkBpftrace,
  checkBtf,
  checkKallsyms,
  checkKernelProbe,
  checkKernelVersion,
  checkPrivileges,
  checkTracefs,
  checkTracepoint,
  renderHuman,
  runDoctor,
  summarize,
  type DoctorReport,
} from '../../../src/commands/doctor.js';
import { parseFormat } from '../../../src/kernel/format.js';
import { ErrorCodes, KdropError } from '../../../src/errors.js';
import { dialectForVersion } from '../../../src/source/bpftrace/version.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/kernel/', import.meta.url));
const fixture = (name: string) => readFile(join(fixtures, name), 'utf8');

test('privileges: full root, CapEff 0, BPF+PERFMON only, missing CAP_SYSLOG', () => {
  const ok = checkPrivileges(0, 'CapEff:\t000001ffffffffff\n');
  assert.equal(ok.verdict, 'ok');
  assert.match(ok.found, /root \(euid 0\); CapEff 000001ffffffffff \(CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CAP_SYSLOG, CAP_PERFMON, CAP_BPF\)/);
  const none = checkPrivileges(1000, 'CapEff:\t0000000000000000\n');
  assert.equal(none.verdict, 'fail');
  assert.match(none.found, /euid 1000 \(not root\).*none of the needed capabilities/);
  assert.match(none.fix ?? '', /run as root/);
  const bpf = checkPrivileges(0, 'CapEff:\t000000c400080000\n'); // BPF, PERFMON, SYSLOG, SYS_PTRACE: the chart's set
  assert.equal(bpf.verdict, 'warn');
  assert.match(bpf.found, /missing CAP_SYS_RESOURCE/);
  const noSyslog = checkPrivileges(0, 'CapEff:\t000001fbffffffff\n');
  assert.equal(noSyslog.verdict, 'warn');
  assert.match(noSyslog.fix ?? '', /CAP_SYSLOG \/proc\/kallsyms shows zero addresses/);
  assert.equal(checkPrivileges(0, 'garbage').verdict, 'warn');
  // Since 5.11 BPF memory is charged to the memory cgroup: CAP_SYS_RESOURCE is not needed there.
  assert.equal(checkPrivileges(0, 'CapEff:\t000000c400080000\n', [6, 18]).verdict, 'ok');
  assert.equal(checkPrivileges(0, 'CapEff:\t000000c400080000\n', [5, 10]).verdict, 'warn');
  // Without CAP_SYS_PTRACE other processes' netns links are unreadable: pod attribution suffers.
  const noPtrace = checkPrivileges(0, 'CapEff:\t000000c400000004\n', [6, 18]);
  assert.equal(noPtrace.verdict, 'warn');
  assert.match(noPtrace.fix ?? '', /CAP_SYS_PTRACE/);
  assert.doesNotMatch(none.fix ?? '', /use a privileged container/);
  assert.equal(checkPrivileges(1000, null).verdict, 'fail');
});

test('kernel version', () => {
  assert.equal(checkKernelVersion('6.18.44-fc-v657\n').verdict, 'ok');
  assert.match(checkKernelVersion('6.18.44-fc-v657\n').found, /drop reasons and rx_sk/);
  assert.match(checkKernelVersion('6.1.0-13-amd64').found, /\(drop reasons\)/);
  const old = checkKernelVersion('5.10.0-26-amd64');
  assert.equal(old.verdict, 'warn');
  assert.match(old.fix ?? '', /5\.17/);
  assert.match(old.found, /pre-5\.12 object/);
  assert.doesNotMatch(checkKernelVersion('5.15.0-1-amd64').found, /pre-5\.12/);
  const noRing = checkKernelVersion('5.4.0-150-generic');
  assert.equal(noRing.verdict, 'warn');
  assert.match(noRing.found, /before 5\.8, no BPF ring buffer: the kernel probe does not load/);
  assert.match(noRing.fix ?? '', /`auto` uses bpftrace/);
  assert.equal(checkKernelVersion('weird').verdict, 'warn');
  assert.equal(checkKernelVersion(null).verdict, 'warn');
});

test('tracepoint: three kernel generations, missing and malformed', async () => {
  const now = checkTracepoint(parseFormat(await fixture('kfree_skb-6.18.format')), null);
  assert.equal(now.verdict, 'ok');
  assert.equal(now.found, 'skb:kfree_skb (id 2310) fields skbaddr, location, rx_sk, protocol, reason; reason: yes, rx_sk: yes; 127 reason names');
  const mid = checkTracepoint(parseFormat(await fixture('kfree_skb-5.17.format')), null);
  assert.equal(mid.verdict, 'ok');
  assert.match(mid.found, /reason: yes, rx_sk: no; 13 reason names/);
  const old = checkTracepoint(parseFormat(await fixture('kfree_skb-5.10.format')), null);
  assert.equal(old.verdict, 'warn');
  assert.match(old.found, /reason: no, rx_sk: no; no drop reasons/);
  const noTable = checkTracepoint(parseFormat((await fixture('kfree_skb-6.18.format')).replace(/, __print_symbolic\(.*\)$/m, ', REC->reason')), null);
  assert.equal(noTable.verdict, 'warn');
  assert.match(noTable.fix ?? '', /BTF/);
  const missing = checkTracepoint(null, 'ENOENT');
  assert.equal(missing.verdict, 'fail');
  assert.match(missing.found, /not available \(ENOENT\)/);
});

test('tracefs, bpftrace, btf, kallsyms checks', () => {
  assert.equal(checkTracefs({ dir: '/sys/kernel/tracing', error: null, writable: true }).found, 'mounted at /sys/kernel/tracing (writable)');
  const ro = checkTracefs({ dir: '/t', error: null, writable: false });
  assert.equal(ro.verdict, 'warn');
  const none = checkTracefs({ dir: null, error: new KdropError(ErrorCodes.TRACEFS_MISSING, 'tracefs is not mounted'), writable: false });
  assert.equal(none.verdict, 'fail');
  assert.match(none.fix ?? '', /mount -t tracefs nodev \/sys\/kernel\/tracing/);

  const v017 = { major: 0, minor: 17, patch: 0 };
  const bt = { command: ['bpftrace'], probed: true, version: v017, dialect: dialectForVersion(v017), error: null };
  assert.equal(checkBpftrace(bt, true).verdict, 'ok');
  assert.match(checkBpftrace(bt, true).found, /^bpftrace 0\.17\.0 \(bpftrace; tracepoint-arrow attach\)$/);
  assert.equal(checkBpftrace(bt, false).verdict, 'warn');
  const missing = checkBpftrace({ command: ['/nope/bpftrace'], probed: true, version: null, dialect: null, error: 'command not found' }, true);
  assert.equal(missing.verdict, 'warn');
  assert.match(missing.found, /^\/nope\/bpftrace: command not found$/);
  assert.match(missing.fix ?? '', /bpftrace 0\.17 or newer/);

  assert.equal(checkBtf('/sys/kernel/btf/vmlinux', true).verdict, 'ok');
  assert.match(checkBtf('/sys/kernel/btf/vmlinux', false).fix ?? '', /CONFIG_DEBUG_INFO_BTF/);

  assert.equal(checkKallsyms('ffffffff81000000 T _stext\n', 0, null).found, 'readable with real addresses (kptr_restrict=0)');
  const restricted = checkKallsyms('0000000000000000 T _stext\n0000000000000000 T x\n', 2, null);
  assert.equal(restricted.verdict, 'warn');
  assert.match(restricted.found, /only zero addresses \(kptr_restrict=2\)/);
  assert.match(restricted.fix ?? '', /sysctl -w kernel\.kptr_restrict=1/);
  assert.equal(checkKallsyms(null, null, 'EACCES').verdict, 'warn');
  assert.equal(checkKallsyms('garbage line\n', 0, null).verdict, 'warn');
});

test('summary: ready with either source; not without tracepoint or any source; rendering', () => {
  const c = (name: string, verdict: 'ok' | 'warn' | 'fail') => ({ name, verdict, found: `${name} found`, fix: verdict === 'ok' ? null : `fix ${name}` });
  const both = summarize([c('tracefs', 'ok'), c('tracepoint', 'ok'), c('bpftrace', 'ok')], true);
  assert.deepEqual([both.ready, both.sources], [true, { bpf: false, bpftrace: true, tracefs: true }]);
  assert.equal(summarize([c('tracefs', 'warn'), c('tracepoint', 'ok'), c('bpftrace', 'ok')], true).ready, true);
  assert.equal(summarize([c('tracefs', 'warn'), c('tracepoint', 'ok'), c('bpftrace', 'warn')], true).ready, false);
  assert.equal(summarize([c('tracefs', 'ok'), c('tracepoint', 'fail'), c('bpftrace', 'ok')], true).ready, false);
  const probeOnly = summarize([c('tracefs', 'warn'), c('tracepoint', 'ok'), c('probe', 'ok'), c('bpftrace', 'warn')], false);
  assert.deepEqual([probeOnly.ready, probeOnly.sources], [true, { bpf: true, bpftrace: false, tracefs: false }]);
  const r: DoctorReport = summarize([c('tracefs', 'ok'), c('tracepoint', 'warn'), c('bpftrace', 'fail')], true);
  assert.equal(renderHuman(r), '[ ok ] tracefs: tracefs found\n[warn] tracepoint: tracepoint found\n  fix: fix tracepoint\n[FAIL] bpftrace: bpftrace found\n  fix: fix bpftrace\nkdrop watch can run (sources: tracefs)\n');
});

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (ch: Buffer) => chunks.push(ch));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('runDoctor on a fixture host tree: human and JSON output, exit codes', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kdrop-doctor-'));
  try {
    const proc = join(root, 'proc');
    const sys = join(root, 'sys');
    const tracing = join(sys, 'kernel', 'tracing');
    await mkdir(join(proc, 'self'), { recursive: true });
    await mkdir(join(proc, 'sys', 'kernel'), { recursive: true });
    await mkdir(join(tracing, 'events', 'skb', 'kfree_skb'), { recursive: true });
    await mkdir(join(tracing, 'instances'), { recursive: true });
    await writeFile(join(proc, 'self', 'status'), 'Name:\tkdrop\nCapEff:\t000001ffffffffff\n');
    await writeFile(join(proc, 'sys', 'kernel', 'osrelease'), '5.17.0-test\n');
    await writeFile(join(proc, 'sys', 'kernel', 'kptr_restrict'), '2\n');
    await writeFile(join(proc, 'kallsyms'), '0000000000000000 T _stext\n0000000000000000 T foo\n');
    await writeFile(join(proc, 'mounts'), `nodev ${tracing} tracefs rw 0 0\n`);
    await writeFile(join(tracing, 'events', 'skb', 'kfree_skb', 'format'), await fixture('kfree_skb-5.17.format'));
    const paths = { proc, sys, tracefs: null };

    const out = capture();
    const code = await runDoctor({ paths, out: out.stream, json: false, bpftrace: [join(root, 'no-bpftrace')], probe: join(root, 'no-probe') });
    const text = out.text();
    assert.match(text, /^\[ ok \] kernel: Linux 5\.17\.0-test \(drop reasons\)$/m);
    assert.match(text, new RegExp(`^\\[ ok \\] tracefs: mounted at ${tracing} \\(writable\\)$`, 'm'));
    assert.match(text, /^\[ ok \] tracepoint: skb:kfree_skb \(id 1494\) .*13 reason names$/m);
    assert.match(text, /^\[warn\] bpftrace: .*no-bpftrace: .*command not found/m);
    assert.match(text, /^\[warn\] btf: .*missing$/m);
    assert.match(text, /^\[warn\] kallsyms: .*kptr_restrict=2/m);
    assert.match(text, /kdrop watch can run \(sources: tracefs\)\n$/);
    assert.deepEqual(await readdir(join(tracing, 'instances')), [], 'doctor creates nothing');
    assert.equal(code, 0);

    const json = capture();
    assert.equal(await runDoctor({ paths, out: json.stream, json: true, bpftrace: [join(root, 'no-bpftrace')], probe: join(root, 'no-probe') }), 0);
    const doc = JSON.parse(json.text()) as DoctorReport;
    assert.equal(doc.ready, true);
    assert.deepEqual(doc.checks.map((x) => x.name), ['privileges', 'kernel', 'tracefs', 'tracepoint', 'probe', 'bpffs', 'bpftrace', 'btf', 'kallsyms']);

    // Without the tracepoint kdrop watch cannot run.
    await rm(join(tracing, 'events', 'skb'), { recursive: true });
    const out2 = capture();
    assert.equal(await runDoctor({ paths, out: out2.stream, json: false, bpftrace: [join(root, 'no-bpftrace')], probe: join(root, 'no-probe') }), 1);
    assert.match(out2.text(), /^\[FAIL\] tracepoint: skb:kfree_skb not available \(.*\)$/m);
    assert.match(out2.text(), /kdrop watch cannot run/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('kernel probe: missing, not runnable, no attach type, and the first attach type that works', () => {
  assert.equal(checkKernelProbe({ path: '/x/kdrop-probe', present: false, results: null, error: null }).verdict, 'warn');
  assert.match(checkKernelProbe({ path: '/x/kdrop-probe', present: false, results: null, error: null }).fix ?? '', /scripts\/build-probe\.sh/);
  assert.equal(checkKernelProbe({ path: '/x', present: true, results: null, error: 'EACCES' }).verdict, 'warn');
  const none = checkKernelProbe({ path: '/x', present: true, results: [{ attach: 'tp_btf', ok: false, message: 'Operation not permitted' }], error: null });
  assert.equal(none.verdict, 'warn');
  assert.match(none.fix ?? '', /CAP_BPF \+ CAP_PERFMON/);
  const ok = checkKernelProbe({
    path: '/x',
    present: true,
    results: [
      { attach: 'tp_btf', ok: false, message: 'Invalid argument' },
      { attach: 'raw_tp', ok: true, message: '' },
    ],
    error: null,
  });
  assert.equal(ok.verdict, 'ok');
  assert.match(ok.found, /tp_btf failed \(Invalid argument\), raw_tp ok; attaches through raw_tp/);
});

test('bpffs: mounted, not mounted, unreadable', () => {
  assert.equal(checkBpffs('/sys/fs/bpf', true).verdict, 'ok');
  assert.equal(checkBpffs('/sys/fs/bpf', false).verdict, 'warn');
  assert.match(checkBpffs('/sys/fs/bpf', null).found, /unreadable/);
});
