import type { HostPaths } from './host-paths.js';
import type { NetnsOwner, NetnsResolver } from './enrich/types.js';
import { HostNetnsResolver } from './enrich/host-resolver.js';
import { podFilter, type PodRef } from './enrich/pod-filter.js';
import { KdropError, ErrorCodes } from './errors.js';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Whether this host looks like it can reach a Kubernetes API (in a pod, or a kubeconfig exists). */
function kubeAvailable(env: NodeJS.ProcessEnv): { inCluster: boolean; kubeconfig: string | undefined } | null {
  if (env['KUBERNETES_SERVICE_HOST']) return { inCluster: true, kubeconfig: undefined };
  const kubeconfig = env['KUBECONFIG'] ?? join(homedir(), '.kube', 'config');
  return existsSync(kubeconfig.split(':')[0] ?? '') ? { inCluster: false, kubeconfig } : null;
}

/**
 * The resolver `kdrop watch` uses: pod names when the Kubernetes API is reachable, netns inodes when
 * not. `--pod` needs the API and fails clearly without it.
 */
export async function watchResolver(
  paths: HostPaths,
  pod: PodRef | undefined,
  env: NodeJS.ProcessEnv = process.env,
  syncTimeoutMs?: number,
): Promise<{ resolver: NetnsResolver; owner: ((o: NetnsOwner) => boolean) | undefined }> {
  const kube = kubeAvailable(env);
  if (!kube) {
    if (pod) {
      throw new KdropError(ErrorCodes.CONFIG, `--pod ${pod.namespace}/${pod.name} needs the Kubernetes API`, {
        expected: 'KUBECONFIG, ~/.kube/config or an in-cluster service account',
        found: 'none',
      });
    }
    return { resolver: await HostNetnsResolver.create(paths), owner: undefined };
  }
  // Loaded only when an API may be reachable (the pod list/watch; in a pod without @kubernetes/client-node).
  const { createResolver } = await import('./enrich/create-resolver.js');
  const resolver = await createResolver({
    paths,
    inCluster: kube.inCluster,
    ...(kube.kubeconfig ? { kubeconfig: kube.kubeconfig } : {}),
    ...(env['NODE_NAME'] ? { nodeName: env['NODE_NAME'] } : {}),
    ...(syncTimeoutMs === undefined ? {} : { syncTimeoutMs }),
  });
  const owner = pod ? podFilter(pod) : undefined;
  return { resolver, owner };
}
