/**
 * The agent's HTTPS listener with `--auth kubernetes` against a real kube-apiserver (RBAC authorization) and
 * the RBAC the chart documents: the agent's identity may only create TokenReviews and SubjectAccessReviews;
 * a ServiceAccount bound to the reader rules (get on the non-resource URL /metrics and on drops.kdrop.dev) reads,
 * one without them gets 403 (also on /api/v1/drops, which the default role system:discovery would open to any
 * authenticated user as a non-resource URL), no token or a forged one 401.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { AgentHttpServer } from '../../src/agent/http-server.js';
import { openAccess, type Access } from '../../src/agent/access.js';
import { realApiServerSkipReason, startRealApiServer, type RealApiServer } from './pods-kube-apiserver.js';

const skip = realApiServerSkipReason() ?? false;
const NS = 'kdrop-auth-e2e';

function get(port: number, path: string, ca: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'kdrop.kdrop-system.svc', agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('--auth kubernetes against a real kube-apiserver with RBAC', { skip, timeout: 300_000 }, () => {
  let api: RealApiServer | undefined;
  let server: AgentHttpServer | undefined;
  let access: Access | undefined;
  let dir = '';
  let port = 0;
  let ca = '';
  const tokens: Record<string, string> = {};

  before(async () => {
    api = await startRealApiServer({ authorizationMode: 'RBAC' });
    dir = mkdtempSync(join(tmpdir(), 'kdrop-auth-'));
    const admin = new KubeConfig();
    admin.loadFromString(api.kubeconfig());
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    // The default roles every cluster has (system:discovery opens /api/* to all authenticated users): a
    // reader rule that leaned on the URL /api/v1/drops would let anyone in, and this test must see that.
    const deadline = Date.now() + 120_000;
    while (!(await rbac.readClusterRoleBinding({ name: 'system:discovery' }).then(() => true, () => false))) {
      assert.ok(Date.now() < deadline, 'the RBAC bootstrap roles appear');
      await new Promise((r) => setTimeout(r, 500));
    }
    await core.createNamespace({ body: { metadata: { name: NS } } });
    for (const name of ['kdrop', 'reader', 'stranger']) await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name } } });
    // The chart's rules (charts/kdrop/templates/clusterrole.yaml with auth.enabled, and auth.yaml's reader role).
    await rbac.createClusterRole({
      body: {
        metadata: { name: 'kdrop-agent-reviews' },
        rules: [
          { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
          { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
        ],
      },
    });
    await rbac.createClusterRole({
      body: {
        metadata: { name: 'kdrop-reader' },
        rules: [
          { nonResourceURLs: ['/metrics'], verbs: ['get'] },
          { apiGroups: ['kdrop.dev'], resources: ['drops'], verbs: ['get'] },
        ],
      },
    });
    const bind = (role: string, sa: string) =>
      rbac.createClusterRoleBinding({ body: { metadata: { name: `${role}-${sa}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: NS }] } });
    await bind('kdrop-agent-reviews', 'kdrop');
    await bind('kdrop-reader', 'reader');
    for (const name of ['kdrop', 'reader', 'stranger']) {
      const tr = await core.createNamespacedServiceAccountToken({ name, namespace: NS, body: { spec: { expirationSeconds: 3600 } } });
      tokens[name] = tr.status?.token ?? '';
      assert.ok(tokens[name], `a token for ${name}`);
    }
    // The agent runs as the ServiceAccount kdrop (KUBECONFIG), with a certificate from files.
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig().replace(`token: "${api.token}"`, `token: "${tokens['kdrop']}"`));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=kdrop', '-addext', 'subjectAltName=DNS:kdrop.kdrop-system.svc', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'tls.crt'), 'utf8');
    access = await openAccess(
      { kubernetes: true, tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, cacheTtlMs: 60_000, maxConnections: 64 },
      undefined,
      { KUBECONFIG: join(dir, 'kubeconfig') },
    );
    server = new AgentHttpServer({ ...access.server, address: { host: '127.0.0.1', port: 0 }, metrics: (_req, res) => res.end('kdrop_packet_drops_total 1\n'), json: { '/api/v1/drops': () => ({ series: [] }) } });
    port = (await server.listen()).port;
  }, { timeout: 240_000 });

  after(async () => {
    access?.close();
    await server?.close();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a ServiceAccount bound to the reader role reads /metrics and /api/v1/drops', async () => {
    assert.deepEqual(await get(port, '/metrics', ca, tokens['reader']), { status: 200, body: 'kdrop_packet_drops_total 1\n' });
    assert.deepEqual(await get(port, '/api/v1/drops', ca, tokens['reader']), { status: 200, body: '{"series":[]}\n' });
  });

  it('one without the binding gets 403, naming itself and the missing rule', async () => {
    const r = await get(port, '/metrics', ca, tokens['stranger']);
    assert.equal(r.status, 403);
    assert.match(r.body, new RegExp(`system:serviceaccount:${NS}:stranger may not get /metrics .*nonResourceURLs`));
    assert.equal((await get(port, '/api/v1/drops', ca, tokens['stranger'])).status, 403);
    assert.equal((await get(port, '/other', ca, tokens['reader'])).status, 404);
  });

  it('no token, a forged token: 401', async () => {
    assert.equal((await get(port, '/metrics', ca)).status, 401);
    const forged = `${tokens['reader']!.slice(0, -8)}AAAAAAAA`;
    assert.equal((await get(port, '/metrics', ca, forged)).status, 401);
  });
});
