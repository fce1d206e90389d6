/**
 * A real kube-apiserver backed by a real etcd, for e2e tests: both on 127.0.0.1, fresh data in a temp dir,
 * stopped and removed by stop(). kube-apiserver comes from scripts/tools/kube-apiserver.sh (tools cache),
 * etcd from PATH (Debian package etcd-server) or $KDROP_ETCD.
 *
 * Authentication: a static bearer token (--token-auth-file) for user kdrop-e2e in system:masters; authorization
 * AlwaysAllow; the ServiceAccount admission plugin is disabled (no controller-manager creates service accounts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { kubeconfigText } from '../helpers/kube.js';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { toolVersion } from '../helpers/tool-versions.js';

export const KUBE_APISERVER_VERSION = toolVersion('KUBERNETES_VERSION');

export function kubeApiserverBinary(): string | null {
  const cache = process.env['KDROP_TOOLS_CACHE'] ?? '/var/cache/kdrop-tools';
  const bin = join(cache, `kube-apiserver-${KUBE_APISERVER_VERSION}`, 'kube-apiserver');
  return existsSync(bin) ? bin : null;
}

export function etcdBinary(): string | null {
  for (const c of [process.env['KDROP_ETCD'], '/usr/bin/etcd', '/usr/local/bin/etcd']) if (c && existsSync(c)) return c;
  return null;
}

/** Why a real API server cannot run here, or null. */
export function realApiServerSkipReason(): string | null {
  if (kubeApiserverBinary() === null) return `kube-apiserver ${KUBE_APISERVER_VERSION} not built (run scripts/tools/kube-apiserver.sh)`;
  if (etcdBinary() === null) return 'etcd not installed (Debian package etcd-server)';
  return null;
}

export interface RealApiServer {
  readonly url: string;
  /** gitVersion from GET /version. */
  readonly version: string;
  readonly token: string;
  kubeconfig(): string;
  stop(): Promise<void>;
  /** Stops kube-apiserver (etcd keeps its data), waits downMs, starts it again on the same port, waits until ready. */
  restart(downMs?: number): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function httpsGet(url: string, token: string, body?: (text: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        body?.(text);
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export async function startRealApiServer(opts: { readyTimeoutMs?: number; authorizationMode?: 'AlwaysAllow' | 'RBAC' } = {}): Promise<RealApiServer> {
  const kas = kubeApiserverBinary();
  const etcd = etcdBinary();
  if (kas === null || etcd === null) throw new Error(realApiServerSkipReason() ?? 'no api server');
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-apiserver-'));
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const keep = (name: string, child: ChildProcess) => {
    const add = (d: Buffer) => {
      logs.push(`[${name}] ${d.toString()}`);
      if (logs.length > 400) logs.splice(0, logs.length - 400);
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
    children.push(child);
  };
  const stop = async () => {
    for (const c of children.reverse()) await stopChild(c);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    keep(
      'etcd',
      spawn(etcd, [
        '--name=kdrop-e2e',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=kdrop-e2e=http://127.0.0.1:${peerPort}`,
        '--log-level=warn',
      ], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    const token = randomBytes(16).toString('hex');
    await writeFile(join(dir, 'tokens.csv'), `${token},kdrop-e2e,kdrop-e2e,"system:masters"\n`, { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const kasArgs = [
        `--etcd-servers=http://127.0.0.1:${clientPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'certs')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        `--authorization-mode=${opts.authorizationMode ?? 'AlwaysAllow'}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/24',
        '--disable-admission-plugins=ServiceAccount',
        '--enable-priority-and-fairness=false',
        '--v=1',
    ];
    let kasChild = spawn(kas, kasArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    keep('kube-apiserver', kasChild);
    const url = `https://127.0.0.1:${apiPort}`;
    const waitReady = async () => {
      const end = Date.now() + (opts.readyTimeoutMs ?? 180_000);
      for (;;) {
        if (children.some((c) => c.exitCode !== null && c.signalCode === null)) throw new Error(`etcd or kube-apiserver exited:\n${logs.slice(-40).join('')}`);
        // The default namespace exists: etcd answers, bootstrap is done, pods can be created. (Not /readyz: with
        // Debian's etcd 3.4.23, older than the 3.4.29 Kubernetes >= 1.31 assumes, its etcd checks may not pass.)
        if ((await httpsGet(`${url}/api/v1/namespaces/default`, token)) === 200) return;
        if (Date.now() > end) throw new Error(`kube-apiserver not ready in time:\n${logs.slice(-40).join('')}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    await waitReady();
    let version = '';
    await httpsGet(`${url}/version`, token, (text) => {
      version = String((JSON.parse(text) as { gitVersion?: string }).gitVersion);
    });
    return {
      url,
      version,
      token,
      kubeconfig: () => kubeconfigText(url, token),
      stop,
      async restart(downMs = 0) {
        await stopChild(kasChild);
        children.splice(children.indexOf(kasChild), 1);
        await new Promise((r) => setTimeout(r, downMs));
        kasChild = spawn(kas, kasArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
        keep('kube-apiserver', kasChild);
        await waitReady();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
