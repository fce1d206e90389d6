/**
 * kubeReviewer (the agent's small Kubernetes client) against a fake API server over HTTPS that answers TokenReview and
 * SubjectAccessReview as kube-apiserver does: the requests carry what the kubelet's and kube-rbac-proxy's do, with
 * the agent's own ServiceAccount token, the server verified against the ServiceAccount's CA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { inClusterEndpoint } from '../../../src/enrich/kube-endpoint.js';
import { kubeReviewer, loadKubeEndpoint } from '../../../src/agent/kube-reviewer.js';
import { selfSigned, ServiceAccountRoot } from '../../helpers/kube.js';
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
  const tls = selfSigned();
  const sa = new ServiceAccountRoot(tls.cert, 'agent-sa-token');
  const server = createServer(tls, (req, res) => {
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
  const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) };
  const ep = inClusterEndpoint({ env, root: sa.root });
  try {
    const auth = new KubeRequestAuth(kubeReviewer(ep), { resources: { '/api/v1/drops': { group: 'kdrop.dev', resource: 'drops' } } });
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
    await new Promise((r) => server.close(r));
  }
  try {
    // An API server that is gone: 503, not 401/403.
    assert.equal((await new KubeRequestAuth(kubeReviewer(ep)).check('Bearer good-token', { path: '/metrics', verb: 'get' })).status, 503);
    // One whose certificate the ServiceAccount's CA did not sign: 503 too, and no token sent to it.
    const other = selfSigned();
    const impostor = createServer(other, (req, res) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, body: {} });
      res.end('{}');
    });
    await new Promise<void>((r) => impostor.listen(port, '127.0.0.1', r));
    const before = seen.length;
    try {
      assert.equal((await new KubeRequestAuth(kubeReviewer(ep)).check('Bearer good-token', { path: '/metrics', verb: 'get' })).status, 503);
      assert.equal(seen.length, before, 'the TLS handshake failed before any request');
    } finally {
      await new Promise((r) => impostor.close(r));
    }
  } finally {
    sa.remove();
  }
});

test('no Kubernetes configuration: a clear KDROP_E_CONFIG error', async () => {
  await assert.rejects(
    () => loadKubeEndpoint(undefined, {}),
    (err: unknown) => err instanceof KdropError && err.code === 'KDROP_E_CONFIG' && /KUBERNETES_SERVICE_HOST/.test(err.message + String((err as { found?: string }).found)),
  );
});
