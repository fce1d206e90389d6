/** When the kernel probe starts at process start (src/source/bpf/early.ts): the default case of watch and agent only. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { earlyStartWanted } from '../../../../src/source/bpf/early.js';

const argv = (...a: string[]): string[] => ['node', 'kdrop', ...a];

test('watch and agent with the source auto or bpf start early, on the pin root the program will use', () => {
  assert.equal(earlyStartWanted(argv('watch'), {}), '/sys/fs/bpf/kdrop');
  assert.equal(earlyStartWanted(argv('agent', '--interval', '1s', '--labels', '+kdrop.netns.inode'), {}), '/sys/fs/bpf/kdrop');
  assert.equal(earlyStartWanted(argv('watch', '--source', 'bpf', '--json'), {}), '/sys/fs/bpf/kdrop');
  assert.equal(earlyStartWanted(argv('watch', '-s', 'auto'), { KDROP_SOURCE: 'bpf' }), '/sys/fs/bpf/kdrop');
  assert.equal(earlyStartWanted(argv('--log-level', 'debug', 'agent'), {}), '/sys/fs/bpf/kdrop');
  assert.equal(earlyStartWanted(argv('--nic-sys', '/host/sys', 'agent'), {}), '/sys/fs/bpf/kdrop');
  assert.equal(earlyStartWanted(argv('watch'), { KDROP_PIN_ROOT: '/sys/fs/bpf/mine' }), '/sys/fs/bpf/mine');
  // The flag wins over the environment, as in the program (config/common.ts).
  assert.equal(earlyStartWanted(argv('--pin-root', '/sys/fs/bpf/a', 'watch'), { KDROP_PIN_ROOT: '/sys/fs/bpf/b' }), '/sys/fs/bpf/a');
  assert.equal(earlyStartWanted(argv('agent', '--pin-root=/sys/fs/bpf/c'), {}), '/sys/fs/bpf/c');
});

test('not where the source would run it otherwise, or no source runs', () => {
  for (const a of [
    argv('doctor'),
    argv('top'),
    argv('trace'),
    argv('--version'),
    argv('watch', '--help'),
    argv('watch', '-h'),
    argv('watch', '--source', 'tracefs'),
    argv('watch', '--source=bpftrace'),
    argv('watch', '-s', 'tracefs'),
    argv('watch', '--flows'),
    argv('agent', '--samples', 'otlp'),
    argv('agent', '--samples-api'),
    argv('agent', '--sample-rate', '5'),
    argv('agent', '--config', '/etc/kdrop.json'),
    argv('--pin-root', 'relative', 'watch'),
    argv('explain', 'watch'),
    argv('symbolize', 'agent'),
  ]) {
    assert.equal(earlyStartWanted(a, {}), null, a.slice(2).join(' '));
  }
  for (const env of [{ KDROP_SOURCE: 'tracefs' }, { KDROP_SAMPLES: 'otlp' }, { KDROP_SAMPLES_API: 'true' }, { KDROP_CONFIG: '/etc/kdrop.json' }]) {
    assert.equal(earlyStartWanted(argv('agent'), env), null, JSON.stringify(env));
  }
  // Off values of the environment do not stop it.
  assert.equal(earlyStartWanted(argv('agent'), { KDROP_SAMPLES: 'off', KDROP_SAMPLES_API: 'false', KDROP_CONFIG: '' }), '/sys/fs/bpf/kdrop');
});
