import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostNetnsResolver } from '../../../src/enrich/host-resolver.js';
import { FIXTURE_PROC, HOST_NS, NS_A } from './fixture.js';

test('HostNetnsResolver: root netns host, others netns, null unattributed', async () => {
  const r = await HostNetnsResolver.create({ proc: FIXTURE_PROC, sys: '/sys', tracefs: null });
  assert.deepEqual(r.resolve(HOST_NS), { scope: 'host', namespace: null, pod: null, podUid: null });
  assert.deepEqual(r.resolve(NS_A), { scope: 'netns', namespace: null, pod: null, podUid: null });
  assert.equal(r.unattributed(), 0);
  r.resolve(null);
  assert.equal(r.unattributed(), 1);
});

test('HostNetnsResolver without a readable root netns: everything is netns', async () => {
  const r = await HostNetnsResolver.create({ proc: '/nonexistent/proc', sys: '/sys', tracefs: null });
  assert.equal(r.resolve(HOST_NS).scope, 'netns');
});

