import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCounters } from '../../../src/commands/doctor-counters.js';

test('doctor counters: ok with netstat and net/dev; says what is missing and why', () => {
  const all = checkCounters({ readable: new Set(['netstat', 'dev', 'conntrack', 'nic']), nics: ['eth0'], error: null });
  assert.equal(all.verdict, 'ok');
  assert.match(all.found, /ListenOverflows.*rx\/tx dropped.*insert_failed.*rx_missed_errors.* on eth0/);
  assert.match(all.found, /queue stats .* not read/);
  const noCt = checkCounters({ readable: new Set(['netstat', 'dev']), nics: [], error: null });
  assert.equal(noCt.verdict, 'ok');
  assert.match(noCt.found, /not: conntrack .*nf_conntrack not loaded.*no physical NIC/);
  const none = checkCounters({ readable: new Set(), nics: [], error: null });
  assert.equal(none.verdict, 'warn');
  assert.ok(none.fix !== null);
  assert.equal(checkCounters({ readable: new Set(), nics: [], error: 'cannot read' }).verdict, 'warn');
});
