/** Kubernetes API fixtures: a self-signed certificate for 127.0.0.1, a pod's ServiceAccount files, a kubeconfig file. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICEACCOUNT_DIR } from '../../src/enrich/kube-endpoint.js';

/** A self-signed certificate for 127.0.0.1 (openssl): it is its own CA. */
export function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=kdrop-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A root under which <root>/var/run/secrets/kubernetes.io/serviceaccount holds ca.crt and token, as kubelet mounts them. */
export class ServiceAccountRoot {
  readonly root = mkdtempSync(join(tmpdir(), 'kdrop-sa-'));
  private readonly dir = join(this.root, SERVICEACCOUNT_DIR);

  constructor(ca: string, token: string) {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'ca.crt'), ca);
    this.setToken(token);
  }

  /** Replaces the token file (kubelet rotating a projected token). */
  setToken(token: string): void {
    writeFileSync(join(this.dir, 'token'), `${token}\n`, { mode: 0o600 });
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A kubeconfig for `server` with a bearer token (TLS not verified). */
export function kubeconfigText(server: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
    `users: [{name: u, user: {token: "${token}"}}]`,
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
    '',
  ].join('\n');
}

/** That kubeconfig as a file under `dir`; returns its path. */
export function writeKubeconfig(dir: string, server: string, token: string): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, kubeconfigText(server, token), { mode: 0o600 });
  return file;
}
