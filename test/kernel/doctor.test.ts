/** `kdrop doctor` on the real host. Needs root. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runDoctor, type DoctorReport } from '../../src/commands/doctor.js';
import { defaultHostPaths } from '../../src/host-paths.js';
import { findTracefs } from '../../src/kernel/tracefs.js';
import { kernelTestSkipReason } from '../helpers/netns.js';
import { probeSkipReason } from '../helpers/probe.js';
import { readdir } from 'node:fs/promises';

const skip = kernelTestSkipReason() ?? false;

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (ch: Buffer) => chunks.push(ch));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('runDoctor on this host: tracepoint ok, exit code 0, no instance left behind', { skip }, async () => {
  const tracefs = await findTracefs(defaultHostPaths, { mount: true });
  const json = capture();
  const code = await runDoctor({ paths: defaultHostPaths, out: json.stream, json: true });
  const report = JSON.parse(json.text()) as DoctorReport;
  const byName = (n: string) => report.checks.find((c) => c.name === n);
  assert.equal(byName('tracepoint')?.verdict, 'ok', JSON.stringify(byName('tracepoint')));
  assert.match(byName('tracepoint')?.found ?? '', /reason: yes/);
  assert.equal(byName('tracefs')?.verdict, 'ok', JSON.stringify(byName('tracefs')));
  assert.equal(byName('kallsyms')?.verdict, 'ok', JSON.stringify(byName('kallsyms')));
  assert.equal(report.ready, true);
  assert.equal(code, 0);
  if (probeSkipReason() === null) {
    assert.equal(byName('probe')?.verdict, 'ok', JSON.stringify(byName('probe')));
    assert.match(byName('probe')?.found ?? '', /attaches through tp_btf/);
    assert.equal(report.sources.bpf, true);
  }
  const left = (await readdir(`${tracefs}/instances`)).filter((n) => n.startsWith(`kdrop-doctor-${process.pid}-`));
  assert.deepEqual(left, []);

  const human = capture();
  assert.equal(await runDoctor({ paths: defaultHostPaths, out: human.stream, json: false }), 0);
  assert.match(human.text(), /^\[ ok \] tracepoint: skb:kfree_skb/m);
  assert.match(human.text(), /kdrop watch can run/);
});
