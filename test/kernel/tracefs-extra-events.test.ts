/**
 * A tracefs instance that records extra events with skb:kfree_skb (how the tracefs source adds
 * qdisc:qdisc_drop where the kernel has it), on the real tracefs. qdisc:qdisc_drop is not in 6.18, so
 * qdisc:qdisc_dequeue stands in for the extra event: the mechanism is the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kernelTestSkipReason } from '../helpers/netns.js';
import { createInstance } from '../../src/source/tracefs/instance.js';

const TRACEFS = '/sys/kernel/tracing';
const skip = kernelTestSkipReason() ?? (existsSync(join(TRACEFS, 'events/qdisc/qdisc_dequeue/enable')) ? null : 'no qdisc:qdisc_dequeue in tracefs');

test('extra events are enabled and disabled with the drop event in the private instance, and removed with it', { skip: skip ?? false }, async () => {
  const hasQdiscDrop = existsSync(join(TRACEFS, 'events/qdisc/qdisc_drop'));
  const inst = await createInstance(TRACEFS, { enable: false, extraEvents: [{ system: 'qdisc', event: 'qdisc_dequeue' }] });
  const flag = (sys: string, ev: string) => readFile(join(inst.dir, 'events', sys, ev, 'enable'), 'utf8').then((t) => t.trim());
  try {
    assert.equal(await flag('qdisc', 'qdisc_dequeue'), '0');
    await inst.enable();
    assert.equal(await flag('skb', 'kfree_skb'), '1');
    assert.equal(await flag('qdisc', 'qdisc_dequeue'), '1');
    assert.equal(await flag('qdisc', 'qdisc_enqueue'), '0', 'only the named extra event');
    await inst.disable();
    assert.equal(await flag('skb', 'kfree_skb'), '0');
    assert.equal(await flag('qdisc', 'qdisc_dequeue'), '0');
  } finally {
    await inst.remove();
  }
  assert.equal(existsSync(inst.dir), false);
  // What this kernel offers the tracefs source: recorded for the report, asserted as a fact of the kernel.
  assert.equal(hasQdiscDrop, existsSync(join(TRACEFS, 'events/qdisc/qdisc_drop/format')));
});

test('an extra event the kernel lacks: TRACEPOINT_MISSING and nothing left behind', { skip: skip ?? false }, async () => {
  const name = `kdrop-${process.pid}-x${Date.now().toString(36)}`;
  await assert.rejects(
    createInstance(TRACEFS, { name, enable: false, extraEvents: [{ system: 'qdisc', event: 'no_such_event_kdrop' }] }),
    (err: Error & { code?: string }) => err.code === 'KDROP_E_TRACEPOINT_MISSING' && /qdisc:no_such_event_kdrop/.test(err.message),
  );
  assert.equal(existsSync(join(TRACEFS, 'instances', name)), false);
});
