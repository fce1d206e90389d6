import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseBpftraceLine, parseKeyInteger, type BpftraceEvent } from '../../../../src/source/bpftrace/index.js';
import { isKdropError, ErrorCodes } from '../../../../src/errors.js';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../../../../../test/fixtures/bpftrace/${name}`, import.meta.url)), 'utf8');

test('map line with tuple keys (0.17: pointer in hex)', () => {
  const ev = parseBpftraceLine('{"type": "map", "data": {"@c": {"0xffffffff820490cc,3,2048,4026531833": 50}}}');
  assert.deepEqual(ev, { kind: 'map', name: '@c', entries: [{ key: [0xffffffff820490ccn, 3n, 2048n, 4026531833n], value: 50 }] });
});

test('map key integers printed signed (0.23 raw (uint64)arg1) come back unsigned', () => {
  assert.equal(parseKeyInteger('-2113638580'), 0xffffffff82046f4cn);
  assert.equal(parseKeyInteger('0xFFFFFFFF82046F4C'), 0xffffffff82046f4cn);
  assert.equal(parseKeyInteger('18446744071596000000'), 18446744071596000000n);
  assert.throws(() => parseKeyInteger('NO_SOCKET'), (e) => isKdropError(e, ErrorCodes.TRACER_OUTPUT));
  assert.throws(() => parseKeyInteger('18446744073709551616'), (e) => isKdropError(e, ErrorCodes.TRACER_OUTPUT));
});

test('scalar map, attached_probes, printf, lost_events, helper_error (0.17 and 0.23 forms)', () => {
  assert.deepEqual(parseBpftraceLine('{"type": "map", "data": {"@kdrop_end": 1}}'), { kind: 'map', name: '@kdrop_end', entries: [{ key: [], value: 1 }] });
  assert.deepEqual(parseBpftraceLine('{"type": "attached_probes", "data": {"probes": 2}}'), { kind: 'attached', probes: 2 });
  assert.deepEqual(parseBpftraceLine('{"type": "printf", "data": "kdrop-ready\\n"}'), { kind: 'printf', text: 'kdrop-ready\n' });
  assert.deepEqual(parseBpftraceLine('{"type": "lost_events", "data": {"events": 12}}'), { kind: 'lost', events: 12 });
  assert.deepEqual(parseBpftraceLine('{"type": "helper_error", "helper": "map_update_elem", "retcode": -7, "line": 12, "col": 67}'), {
    kind: 'helper-error',
    helper: 'map_update_elem',
    retcode: -7,
    line: 12,
  });
  assert.deepEqual(
    parseBpftraceLine('{"type": "helper_error", "msg": "Map full; can\'t update element.", "helper": "map_update_elem", "retcode": -7, "line": 13, "col": 57}'),
    { kind: 'helper-error', helper: 'map_update_elem', retcode: -7, line: 13 },
  );
  assert.deepEqual(parseBpftraceLine('{"type": "time", "data": "12:00:00\\n"}'), { kind: 'other', type: 'time' });
  assert.deepEqual(parseBpftraceLine('{"type": "warning", "data": "something"}'), { kind: 'message', level: 'warning', text: 'something' });
});

test('blank lines are null (bpftrace prints two before the exit maps)', () => {
  assert.equal(parseBpftraceLine(''), null);
  assert.equal(parseBpftraceLine('   '), null);
});

test('malformed lines are TRACER_OUTPUT errors', () => {
  const bad = [
    'Attaching 2 probes...',
    '{"type": "map", "data": {"@c": {"0xffff',
    '[1,2]',
    '{"data": {}}',
    '{"type": "map", "data": {"@c": {"0x1,2": "x"}}}',
    '{"type": "map", "data": {"@c": {"0x1,abc": 3}}}',
    '{"type": "map", "data": {"@c": {}, "@b": {}}}',
    '{"type": "map", "data": {"@c": [1]}}',
    '{"type": "attached_probes", "data": {}}',
    '{"type": "printf", "data": 3}',
    '{"type": "lost_events"}',
    '{"type": "helper_error", "helper": 3}',
    'null',
  ];
  for (const line of bad) {
    assert.throws(() => parseBpftraceLine(line), (e) => isKdropError(e, ErrorCodes.TRACER_OUTPUT), line);
  }
});

function parseAll(text: string): BpftraceEvent[] {
  return text.split('\n').map(parseBpftraceLine).filter((e): e is BpftraceEvent => e !== null);
}

test('recorded bpftrace 0.17 output parses completely', () => {
  const evs = parseAll(fixture('v0.17-snapshots.ndjson'));
  assert.equal(evs[0]?.kind, 'attached');
  assert.deepEqual(evs[1], { kind: 'printf', text: 'kdrop-ready\n' });
  const counts = evs.filter((e) => e.kind === 'map' && e.name === '@c');
  const last = counts.at(-1);
  assert.ok(last?.kind === 'map');
  assert.deepEqual(last.entries, [
    { key: [0xffffffff82107981n, 3n, 34525n, 4026532177n], value: 2 },
    { key: [0xffffffff82046f4cn, 3n, 2048n, 4026532177n], value: 8 },
  ]);
  const full = parseAll(fixture('v0.17-map-full.ndjson'));
  assert.equal(full.filter((e) => e.kind === 'helper-error' && e.line === 12).length, 2);
});

test('recorded bpftrace 0.23 rawtracepoint output parses completely', () => {
  const evs = parseAll(fixture('v0.23-rawtracepoint-snapshots.ndjson'));
  const last = evs.filter((e) => e.kind === 'map' && e.name === '@c').at(-1);
  assert.ok(last?.kind === 'map');
  assert.deepEqual(last.entries, [
    { key: [0xffffffff82107981n, 3n, 56710n, 4026532177n], value: 2 },
    { key: [0xffffffff82046f4cn, 3n, 8n, 4026532177n], value: 8 },
  ]);
  const full = parseAll(fixture('v0.23-map-full.ndjson'));
  assert.equal(full.filter((e) => e.kind === 'helper-error' && e.helper === 'map_update_elem').length, 4);
});
