/**
 * proxyAwareGuard: with --auth kubernetes, a request without a token passes only from a trusted API server
 * address (kubectl kdrop through the pod proxy); every request with a token is decided by the gate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentConfig } from '../../../src/agent/config.js';
import { proxyAwareGuard } from '../../../src/agent/agent-routes.js';
import type { AuthDecision, RequestAttributes } from '../../../src/agent/kube-auth.js';

const attrs: RequestAttributes = { path: '/api/v1/drops', verb: 'get' };

test('tokenless requests pass only from the trusted addresses; tokens always go to the gate', async () => {
  const seen: (string | undefined)[] = [];
  const gate = (authorization: string | undefined): Promise<AuthDecision> => {
    seen.push(authorization);
    return Promise.resolve(authorization === 'Bearer good' ? { status: 200, user: 'reader' } : { status: 401, message: 'no token' });
  };
  const cfg = await agentConfig({ samplesApi: true, samplesApiTrustedProxies: '10.87.0.1,10.0.0.0/24' }, {});
  const guard = proxyAwareGuard(gate, cfg);
  assert.equal((await guard(undefined, attrs, '10.87.0.1')).status, 200, 'the API server');
  assert.equal((await guard(undefined, attrs, '::ffff:10.0.0.9')).status, 200, 'inside the CIDR, IPv4-mapped');
  assert.deepEqual(seen, [], 'the gate was not asked for the proxied requests');
  assert.equal((await guard(undefined, attrs, '10.87.0.2')).status, 401, 'tokenless from a pod address');
  assert.equal((await guard('Bearer bad', attrs, '10.87.0.1')).status, 401, 'a token from the trusted address is still reviewed');
  assert.equal((await guard('Bearer good', attrs, '192.0.2.7')).status, 200);
  assert.deepEqual(seen, [undefined, 'Bearer bad', 'Bearer good']);
});

test('without --samples-api (no trusted addresses) the gate decides everything', async () => {
  const gate: Parameters<typeof proxyAwareGuard>[0] = () => Promise.resolve({ status: 401, message: 'no token' });
  const guard = proxyAwareGuard(gate, await agentConfig({}, {}));
  assert.equal(guard, gate);
  assert.equal((await guard(undefined, attrs, '10.87.0.1')).status, 401);
});
