/**
 * Who may reach the metrics listener, from the agent's AgentAuth: the TLS certificate (read from files, and
 * read again every minute so a renewed Secret, e.g. by cert-manager, is served without a restart), the
 * Kubernetes gate (kube-auth.ts) and the connection bound.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCodes, KdropError } from '../errors.js';
import { logger } from '../log.js';
import type { AgentAuth } from './auth-settings.js';
import type { AgentHttpServer, AgentHttpServerOptions, TlsMaterial } from './http-server.js';
import { KubeRequestAuth, type AccessReviewer, type ResourceRef } from './kube-auth.js';
import { DROPS_API_PATH } from './drops-api.js';

const log = logger('agent');
const TLS_RELOAD_MS = 60_000;

/**
 * What a reader needs: `get` on the non-resource URL /metrics, and for the drops API `get` on the resource
 * drops.kdrop.dev (not the non-resource URL /api/v1/drops: the API server's system:discovery role grants
 * /api/* to every authenticated user).
 */
export const READER_RESOURCES: Readonly<Record<string, ResourceRef>> = { [DROPS_API_PATH]: { group: 'kdrop.dev', resource: 'drops' } };

export interface Access {
  /** What the metrics listener gets: tls, guard, limits. */
  readonly server: Pick<AgentHttpServerOptions, 'tls' | 'guard' | 'limits'>;
  /** Keeps `server`'s certificate up to date with the files. */
  follow(server: AgentHttpServer): void;
  close(): void;
}

async function readTls(files: { certFile: string; keyFile: string }): Promise<TlsMaterial> {
  try {
    const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
    return { cert, key };
  } catch (err) {
    throw new KdropError(ErrorCodes.CONFIG, 'cannot read the TLS certificate or key', {
      expected: `PEM files at ${files.certFile} and ${files.keyFile}`,
      found: (err as NodeJS.ErrnoException).code ?? String(err),
      hint: 'mount the Secret (tls.crt, tls.key) and point --tls-cert-file / --tls-key-file at it',
      cause: err,
    });
  }
}

/**
 * Reads the certificate and makes the gate. `reviewer` replaces the Kubernetes API (tests); without it the
 * in-cluster configuration (or KUBECONFIG) is used.
 */
export async function openAccess(auth: AgentAuth | undefined, reviewer?: AccessReviewer, env: NodeJS.ProcessEnv = process.env): Promise<Access> {
  if (auth === undefined) return { server: {}, follow: () => undefined, close: () => undefined };
  const tls = auth.tls === null ? undefined : await readTls(auth.tls);
  let guard: AgentHttpServerOptions['guard'];
  if (auth.kubernetes) {
    let r = reviewer;
    if (r === undefined) {
      const { kubeReviewer, loadKubeEndpoint } = await import('./kube-reviewer.js');
      r = kubeReviewer(await loadKubeEndpoint(env['KUBECONFIG'] || undefined, env));
    }
    const gate = new KubeRequestAuth(r, { allowedTtlMs: auth.cacheTtlMs, resources: READER_RESOURCES });
    guard = (authorization, attrs) => gate.check(authorization, attrs);
  }
  let timer: NodeJS.Timeout | undefined;
  return {
    server: { ...(tls ? { tls } : {}), ...(guard ? { guard } : {}), limits: { maxConnections: auth.maxConnections } },
    follow(server) {
      const files = auth.tls;
      if (files === null || tls === undefined) return;
      let last = tls;
      timer = setInterval(() => {
        readTls(files).then(
          (next) => {
            if (Buffer.compare(Buffer.from(next.cert), Buffer.from(last.cert)) === 0 && Buffer.compare(Buffer.from(next.key), Buffer.from(last.key)) === 0) return;
            try {
              server.setTls(next);
              last = next;
              log.info({ cert: files.certFile }, 'TLS certificate reloaded');
            } catch (err) {
              log.warn({ err: String(err) }, 'the new TLS certificate is not usable; serving the previous one');
            }
          },
          (err: unknown) => log.warn({ err: String(err) }, 'cannot reload the TLS certificate; serving the previous one'),
        );
      }, TLS_RELOAD_MS);
      timer.unref();
    },
    close() {
      clearInterval(timer);
    },
  };
}
