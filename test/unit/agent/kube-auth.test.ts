import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, KubeRequestAuth, verbOf, type AccessReviewer, type RequestAttributes, type ResourceRef, type ReviewedUser } from '../../../src/agent/kube-auth.js';

/** A reviewer with two tokens: `reader` (may get /metrics) and `nobody` (valid, no permission). */
function fakeReviewer(): AccessReviewer & { authn: number; authz: RequestAttributes[]; resources: (ResourceRef | undefined)[]; fail: boolean; delayMs: number } {
  const users: Record<string, ReviewedUser> = {
    reader: { username: 'system:serviceaccount:mon:prometheus', groups: ['system:serviceaccounts'] },
    nobody: { username: 'system:serviceaccount:default:default', groups: ['system:serviceaccounts'] },
  };
  const r = {
    authn: 0,
    authz: [] as RequestAttributes[],
    resources: [] as (ResourceRef | undefined)[],
    fail: false,
    delayMs: 0,
    async authenticate(token: string) {
      r.authn++;
      await new Promise((res) => setTimeout(res, r.delayMs));
      if (r.fail) throw Object.assign(new Error('connect ECONNREFUSED'), { code: undefined });
      return users[token] ?? null;
    },
    async authorize(user: ReviewedUser, attrs: RequestAttributes, resource?: ResourceRef) {
      r.authz.push(attrs);
      r.resources.push(resource);
      return { allowed: user.username.endsWith(':prometheus') && (attrs.path === '/metrics' || resource?.resource === 'drops'), reason: '' };
    },
  };
  return r;
}

const METRICS = { path: '/metrics', verb: 'get' };

test('no token 401, an unknown token 401, a valid token without permission 403, with permission 200', async () => {
  const r = fakeReviewer();
  const auth = new KubeRequestAuth(r);
  assert.equal((await auth.check(undefined, METRICS)).status, 401);
  assert.equal((await auth.check('Basic dXNlcjpwdw==', METRICS)).status, 401);
  assert.equal(r.authn, 0, 'no review without a bearer token');
  assert.equal((await auth.check('Bearer stolen', METRICS)).status, 401);
  const denied = await auth.check('Bearer nobody', METRICS);
  assert.equal(denied.status, 403);
  assert.match((denied as { message: string }).message, /system:serviceaccount:default:default may not get \/metrics/);
  assert.deepEqual(await auth.check('Bearer reader', METRICS), { status: 200, user: 'system:serviceaccount:mon:prometheus' });
  assert.equal((await auth.check('Bearer reader', { path: '/other', verb: 'get' })).status, 403, 'authorized per path');
  assert.deepEqual(r.authz.at(-1), { path: '/other', verb: 'get' });
  assert.equal(r.resources.at(-1), undefined, 'as a non-resource URL');
});

test("paths the API server's default roles open to everyone are never checked as non-resource URLs", async () => {
  const r = fakeReviewer();
  const plain = new KubeRequestAuth(r);
  for (const path of ['/api/v1/drops', '/api', '/apis/x', '/openapi/v2', '/version', '/healthz', '/livez', '/readyz']) {
    const d = await plain.check('Bearer reader', { path, verb: 'get' });
    assert.equal(d.status, 403, path);
    assert.match((d as { message: string }).message, /cannot be authorized as a non-resource URL/);
  }
  assert.equal(r.authn, 0, 'refused before any review');
  const mapped = new KubeRequestAuth(r, { resources: { '/api/v1/drops': { group: 'kdrop.dev', resource: 'drops' } } });
  assert.equal((await mapped.check('Bearer reader', { path: '/api/v1/drops', verb: 'get' })).status, 200);
  assert.deepEqual(r.resources.at(-1), { group: 'kdrop.dev', resource: 'drops' });
  const denied = await mapped.check('Bearer nobody', { path: '/api/v1/drops', verb: 'get' });
  assert.match((denied as { message: string }).message, /needs a ClusterRole with apiGroups \["kdrop.dev"\], resources \["drops"\], verbs \["get"\]/);
});

test('answers are cached per token and path for the TTL (refusals shorter), and API errors are not cached', async () => {
  let now = 1_000_000;
  const r = fakeReviewer();
  const auth = new KubeRequestAuth(r, { allowedTtlMs: 60_000, deniedTtlMs: 10_000, now: () => now });
  assert.equal((await auth.check('Bearer reader', METRICS)).status, 200);
  assert.equal((await auth.check('Bearer nobody', METRICS)).status, 403);
  assert.equal(r.authn, 2);
  now += 9_000;
  assert.equal((await auth.check('Bearer reader', METRICS)).status, 200);
  assert.equal((await auth.check('Bearer nobody', METRICS)).status, 403);
  assert.equal(r.authn, 2, 'both cached');
  now += 2_000;
  assert.equal((await auth.check('Bearer nobody', METRICS)).status, 403);
  assert.equal((await auth.check('Bearer reader', METRICS)).status, 200);
  assert.equal(r.authn, 3, 'the refusal expired after 10 s, the allowed answer did not');
  now += 60_000;
  await auth.check('Bearer reader', METRICS);
  assert.equal(r.authn, 4, 'the allowed answer expired after 60 s');
  r.fail = true;
  now += 120_000;
  const d = await auth.check('Bearer reader', METRICS);
  assert.equal(d.status, 503);
  assert.match((d as { message: string }).message, /cannot review the token/);
  r.fail = false;
  assert.equal((await auth.check('Bearer reader', METRICS)).status, 200, 'the failure was not remembered');
});

test('500 concurrent requests with one token cost one TokenReview and one SubjectAccessReview', async () => {
  const r = fakeReviewer();
  r.delayMs = 20;
  const auth = new KubeRequestAuth(r);
  const all = await Promise.all(Array.from({ length: 500 }, () => auth.check('Bearer reader', METRICS)));
  assert.ok(all.every((d) => d.status === 200));
  assert.equal(r.authn, 1);
  assert.equal(r.authz.length, 1);
  assert.equal(auth.reviews, 2);
});

test('the cache is bounded: the oldest answer goes first', async () => {
  const r = fakeReviewer();
  const auth = new KubeRequestAuth(r, { maxEntries: 2 });
  await auth.check('Bearer reader', METRICS);
  await auth.check('Bearer reader', { path: '/a', verb: 'get' });
  await auth.check('Bearer reader', { path: '/b', verb: 'get' });
  assert.equal(r.authn, 3);
  await auth.check('Bearer reader', { path: '/b', verb: 'get' });
  assert.equal(r.authn, 3, '/b still cached');
  await auth.check('Bearer reader', METRICS);
  assert.equal(r.authn, 4, '/metrics was evicted');
});

test('bearer tokens and verbs are read as the kubelet reads them', () => {
  assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
  assert.equal(bearerToken('bearer  abc '), 'abc');
  assert.equal(bearerToken('Bearer'), null);
  assert.equal(bearerToken('Bearer a b'), null);
  assert.equal(bearerToken(undefined), null);
  assert.equal(verbOf('GET'), 'get');
  assert.equal(verbOf('HEAD'), 'get');
  assert.equal(verbOf('POST'), 'create');
  assert.equal(verbOf('DELETE'), 'delete');
});
