/**
 * Server-side validation of rendered manifests against a real kube-apiserver: create with
 * ?dryRun=All&fieldValidation=Strict, so the API server runs defaulting, full validation, strict field
 * checks and admission (Pod Security included) without storing anything.
 */
import { request } from 'node:https';
import type { K8sObject } from './deploy-helm.js';

export interface ApiResult {
  status: number;
  body: Record<string, unknown>;
  /** `Warning` headers (e.g. Pod Security warnings for workload objects). */
  warnings: string[];
}

/** REST path of a kind's collection; null for kinds this helper does not know. */
export function collectionPath(o: K8sObject, namespace: string): string | null {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const plural: Record<string, [string, boolean]> = {
    ServiceAccount: ['serviceaccounts', true],
    ConfigMap: ['configmaps', true],
    Service: ['services', true],
    Pod: ['pods', true],
    Secret: ['secrets', true],
    DaemonSet: ['daemonsets', true],
    ClusterRole: ['clusterroles', false],
    ClusterRoleBinding: ['clusterrolebindings', false],
    Role: ['roles', true],
    RoleBinding: ['rolebindings', true],
    NetworkPolicy: ['networkpolicies', true],
    Namespace: ['namespaces', false],
  };
  const entry = plural[o.kind];
  if (!entry) return null;
  const [resource, namespaced] = entry;
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = namespaced ? `/namespaces/${o.metadata.namespace ?? namespace}` : '';
  return `${base}${ns}/${resource}`;
}

export function apiRequest(url: string, token: string, method: string, body?: unknown): Promise<ApiResult> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        rejectUnauthorized: false, // the test API server's self-signed certificate
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { raw: text };
          }
          const w = res.headers['warning'];
          const warnings = w === undefined ? [] : Array.isArray(w) ? w : [w];
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Creates `o` with dryRun=All and strict field validation. */
export function dryRunCreate(apiUrl: string, token: string, o: K8sObject, namespace: string): Promise<ApiResult> {
  const p = collectionPath(o, namespace);
  if (p === null) throw new Error(`no REST path known for kind ${o.kind}`);
  return apiRequest(`${apiUrl}${p}?dryRun=All&fieldValidation=Strict`, token, 'POST', o);
}
