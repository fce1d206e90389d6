/**
 * kubeReviewer (@kubernetes/client-node) against a fake API server that answers TokenReview and
 * SubjectAccessReview as kube-apiserver does: the requests carry what the kubelet's and kube-rbac-proxy's do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeReviewer, loadKubeConfig } from '../../../src/agent/kube-reviewer.js';
import { KubeRequestAuth } from '../../../src/agent/kube-auth.js';
import { KdropError } from '../../../src/errors.js';

interface Seen {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const c of req) text += String(c);
  return JSON.parse(text) as Record<string, unknown>;
}

test('TokenReview and SubjectAccessReview requests and answers', async () => {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    void body(req).then((b) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, body: b });
      const spec = b['spec'] as Record<string, unknown>;
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/apis/authentication.k8s.io/v1/tokenreviews') {
        const ok = spec['token'] === 'good-token';
        const status = ok ? { authenticated: true, user: { username: 'system:serviceaccount:mon:prom', uid: 'u-1', groups: ['system:serviceaccounts', 'system:authenticated'], extra: { 'authentication.kubernetes.io/pod-name': ['prom-0'] } } } : { authenticated: false, error: 'invalid bearer token' };
        res.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec, status }));
      } else if (req.method === 'POST' && req.url === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
        const nra = spec['nonResourceAttributes'] as { path: string; verb: string } | undefined;
        // This user may read /metrics only (drops.kdrop.dev is not granted).
        const allowed = spec['user'] === 'system:serviceaccount:mon:prom' && nra?.path === '/metrics' && nra.verb === 'get';
        res.end(JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec, status: allowed ? { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding' } : { allowed: false, reason: 'no RBAC policy matched' } }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'agent', token: 'agent-sa-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'agent' }],
      currentContext: 'x',
    });
    const auth = new KubeRequestAuth(kubeReviewer(kc), { resources: { '/api/v1/drops': { group: 'kdrop.dev', resource: 'drops' } } });
    assert.deepEqual(await auth.check('Bearer good-token', { path: '/metrics', verb: 'get' }), { status: 200, user: 'system:serviceaccount:mon:prom' });
    const [tr, sar] = seen;
    assert.equal(tr?.authorization, 'Bearer agent-sa-token', "the agent's own credentials call the API");
    assert.deepEqual(tr?.body['spec'], { token: 'good-token' });
    assert.deepEqual(sar?.body['spec'], {
      user: 'system:serviceaccount:mon:prom',
      uid: 'u-1',
      groups: ['system:serviceaccounts', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/pod-name': ['prom-0'] },
      nonResourceAttributes: { path: '/metrics', verb: 'get' },
    });
    const denied = await auth.check('Bearer good-token', { path: '/api/v1/drops', verb: 'get' });
    assert.equal(denied.status, 403);
    assert.match((denied as { message: string }).message, /no RBAC policy matched/);
    const spec = seen[3]?.body['spec'] as Record<string, unknown> | undefined;
    assert.deepEqual(spec?.['resourceAttributes'], { group: 'kdrop.dev', resource: 'drops', verb: 'get' }, 'the drops API as a resource');
    assert.equal(spec?.['nonResourceAttributes'], undefined);
    assert.equal((await auth.check('Bearer bad-token', { path: '/metrics', verb: 'get' })).status, 401);
    // good token: 2 x (TokenReview + SubjectAccessReview), one per path; the bad one: a TokenReview only.
    assert.deepEqual(seen.map((x) => x.path.split('/')[2]), ['authentication.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io']);
  } finally {
    server.close();
  }
  // An API server that is gone: 503, not 401/403.
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${port}` }], users: [{ name: 'a', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'a' }], currentContext: 'x' });
  assert.equal((await new KubeRequestAuth(kubeReviewer(kc)).check('Bearer good-token', { path: '/metrics', verb: 'get' })).status, 503);
});

test('no Kubernetes configuration: a clear KDROP_E_CONFIG error', () => {
  assert.throws(
    () => loadKubeConfig(undefined, {}),
    (err: unknown) => err instanceof KdropError && err.code === 'KDROP_E_CONFIG' && /KUBERNETES_SERVICE_HOST/.test(err.message + String((err as { found?: string }).found)),
  );
});
