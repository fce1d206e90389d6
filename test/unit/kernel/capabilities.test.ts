import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { capabilityNames, hasCapability, parseCapEff } from '../../../src/kernel/capabilities.js';

test('parseCapEff and capability bits', () => {
  const full = parseCapEff('Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n');
  assert.equal(full, 0x1fffeffffffn);
  // This machine's mask: everything up to CAP_BPF except bit 24, CAP_SYS_RESOURCE.
  assert.deepEqual(capabilityNames(full), ['CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE', 'CAP_SYS_ADMIN', 'CAP_SYSLOG', 'CAP_PERFMON', 'CAP_BPF']);
  assert.ok(hasCapability(parseCapEff('CapEff:\t000001ffffffffff'), 'CAP_SYS_RESOURCE'));
  const none = parseCapEff('CapEff:\t0000000000000000\n');
  assert.deepEqual(capabilityNames(none), []);
  // CAP_BPF (39) and CAP_PERFMON (38) only.
  const bpf = parseCapEff('CapEff:\t000000c000000000\n');
  assert.ok(hasCapability(bpf, 'CAP_BPF') && hasCapability(bpf, 'CAP_PERFMON') && !hasCapability(bpf, 'CAP_SYS_ADMIN'));
  for (const bad of ['', 'CapEff:\tzz\n', 'CapPrm:\t0000000000000000\n']) {
    assert.throws(() => parseCapEff(bad), (err: unknown) => isKdropError(err, ErrorCodes.PERMISSION));
  }
});
