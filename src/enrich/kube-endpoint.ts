/**
 * Where the Kubernetes API is and how to authenticate to it, for the agent's small client (kube-http.ts).
 *
 * - In a pod (the agent's normal case): the API's service address from KUBERNETES_SERVICE_HOST/PORT, the
 *   ServiceAccount's CA and token from /var/run/secrets/kubernetes.io/serviceaccount. The token is projected and
 *   rotated by kubelet: it is read again when older than a minute, as client-go and @kubernetes/client-node do.
 *   Nothing of @kubernetes/client-node is loaded on this path (its configuration module alone pulls in the
 *   generated API models and a second copy of undici: ~35 MB of RSS, measured in docs/performance.md).
 * - With a kubeconfig file (off-cluster: a developer's host, tests): @kubernetes/client-node's KubeConfig, loaded on
 *   demand, applies whatever the file says (client certificates, tokens, exec plugins) to each request.
 */
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { RequestOptions } from 'node:https';

export interface KubeEndpoint {
  /** Base URL of the API server, without a trailing slash (https://host:port, or http:// for a local test server). */
  readonly server: string;
  /** TLS settings and headers (Authorization) for one request; may refresh credentials. */
  requestOptions(): Promise<RequestOptions>;
}

export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_MAX_AGE_MS = 60_000;

export interface InClusterOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Prefix of the ServiceAccount directory (tests; '' in a pod). */
  readonly root?: string;
  readonly now?: () => number;
}

/** The pod's own endpoint. Throws (a plain Error that says what is missing) when not in a pod. */
export function inClusterEndpoint(opts: InClusterOptions = {}): KubeEndpoint {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw new Error('KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are not set (not running in a pod?)');
  const dir = `${opts.root ?? ''}${SERVICEACCOUNT_DIR}`;
  const ca = readFileSync(`${dir}/ca.crt`, 'utf8');
  const tokenFile = `${dir}/token`;
  const readToken = () => readFileSync(tokenFile, 'utf8').trim();
  let token = readToken();
  let readAt = now();
  return {
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    requestOptions() {
      if (now() - readAt >= TOKEN_MAX_AGE_MS) {
        try {
          token = readToken();
          readAt = now();
        } catch {
          // Keep the last token: kubelet replaces the file atomically, a failed read is transient.
        }
      }
      return Promise.resolve({ ca, headers: { authorization: `Bearer ${token}` } });
    },
  };
}

/** The current context of a kubeconfig file, through @kubernetes/client-node (loaded here, on demand). */
export async function kubeconfigEndpoint(file: string): Promise<KubeEndpoint> {
  // A module of its own with a static named import, so that the bundle tree-shakes the package as it does for kubectl.
  const { fromKubeconfig } = await import('./kubeconfig-endpoint.js');
  return fromKubeconfig(file);
}

/** A kubeconfig file when given, else the pod's own endpoint. */
export function loadEndpoint(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<KubeEndpoint> {
  return kubeconfig === undefined ? Promise.resolve(inClusterEndpoint({ env })) : kubeconfigEndpoint(kubeconfig);
}
