/**
 * Picks the netns resolver for this node:
 * - Kubernetes config available (in-cluster, or a kubeconfig file) and a node name: PodNetnsResolver, pods from
 *   the API. When the API does not answer within `syncTimeoutMs` (0: do not wait, the agent's choice, so that
 *   counting never waits for the API), it goes on with netns-only attribution (host / netns) while the watch
 *   keeps retrying in the background; pods are attributed from the moment the API answers.
 * - No Kubernetes config (or it cannot be loaded): HostNetnsResolver (host / netns), said once.
 * - No node name (NODE_NAME): the host name, lower case, as kubelet defaults to.
 */
import { hostname } from 'node:os';
import type { HostPaths } from '../host-paths.js';
import { logger } from '../log.js';
import type { NetnsResolver } from './types.js';
import { HostNetnsResolver } from './host-resolver.js';
import { loadEndpoint, type KubeEndpoint } from './kube-endpoint.js';
import { PodCache } from './pod-cache.js';
import { PodNetnsResolver } from './pod-resolver.js';

const log = logger('enrich');

export interface CreateResolverOptions {
  readonly paths: HostPaths;
  /** Path of a kubeconfig file; when absent and not in cluster, Kubernetes is not used. */
  readonly kubeconfig?: string;
  readonly nodeName?: string;
  readonly inCluster: boolean;
  /** How long to wait for the first pod list (default 10 s; 0 = not at all). */
  readonly syncTimeoutMs?: number;
}

export async function createResolver(opts: CreateResolverOptions): Promise<NetnsResolver> {
  if (!opts.inCluster && opts.kubeconfig === undefined) {
    log.info('no Kubernetes configuration: attributing drops by network namespace only (host / netns)');
    return HostNetnsResolver.create(opts.paths);
  }
  // kubelet names its node after the host name (lower case) unless told otherwise: the best guess without NODE_NAME.
  const nodeName = opts.nodeName || hostname().toLowerCase();
  if (!opts.nodeName) log.info({ nodeName }, 'NODE_NAME is not set: selecting the pods of the node named after this host');
  let endpoint: KubeEndpoint;
  try {
    // In a pod: the ServiceAccount, with no @kubernetes/client-node at all; off-cluster: the kubeconfig file.
    endpoint = await loadEndpoint(opts.kubeconfig);
  } catch (err) {
    log.warn(
      { err: String(err), kubeconfig: opts.kubeconfig ?? null },
      'cannot load the Kubernetes configuration: attributing drops by network namespace only',
    );
    return HostNetnsResolver.create(opts.paths);
  }
  const cache = new PodCache({ endpoint, nodeName });
  cache.start();
  const syncTimeoutMs = opts.syncTimeoutMs ?? 10_000;
  const synced = syncTimeoutMs > 0 && (await cache.waitForSync(syncTimeoutMs));
  if (syncTimeoutMs === 0) {
    void cache.whenSynced().then(() => log.info('Kubernetes API answered: attributing drops to pods'));
  } else if (!synced) {
    log.warn(
      { server: endpoint.server, nodeName, err: String(cache.error() ?? 'timeout') },
      'Kubernetes API unreachable: attributing drops by network namespace only until it answers (retrying in the background)',
    );
    void cache.whenSynced().then(() => log.info('Kubernetes API answered: attributing drops to pods'));
  }
  return PodNetnsResolver.create({ procDir: opts.paths.proc, pods: cache });
}
