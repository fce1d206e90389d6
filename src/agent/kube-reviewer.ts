/**
 * The AccessReviewer of kube-auth.ts on the real Kubernetes API (the agent's small client, enrich/kube-http.ts): TokenReview
 * (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1) with non-resource or resource attributes.
 * The caller's ServiceAccount needs `create` on both (the built-in ClusterRole system:auth-delegator).
 */
import { loadEndpoint, type KubeEndpoint } from '../enrich/kube-endpoint.js';
import { requestJson } from '../enrich/kube-http.js';
import { ErrorCodes, KdropError } from '../errors.js';
import type { AccessReviewer, RequestAttributes, ResourceRef, ReviewedUser } from './kube-auth.js';

/** The Kubernetes API: a kubeconfig file when given, else the pod's in-cluster ServiceAccount. */
export async function loadKubeEndpoint(kubeconfig?: string, env: NodeJS.ProcessEnv = process.env): Promise<KubeEndpoint> {
  try {
    return await loadEndpoint(kubeconfig, env);
  } catch (err) {
    throw new KdropError(ErrorCodes.CONFIG, 'cannot authenticate clients through the Kubernetes API: no Kubernetes configuration', {
      expected: 'the pod ServiceAccount (in-cluster) or KUBECONFIG',
      found: err instanceof Error ? err.message : String(err),
      hint: 'run in a pod with automountServiceAccountToken, or set KUBECONFIG; or --auth off',
    });
  }
}

interface ReviewStatus {
  status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }; allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

export function kubeReviewer(ep: KubeEndpoint): AccessReviewer {
  const review = async (api: string, kind: string, spec: unknown) =>
    (await requestJson(ep, 'POST', `/apis/${api}/v1/${kind.toLowerCase()}s`, { apiVersion: `${api}/v1`, kind, spec })) as ReviewStatus;
  return {
    async authenticate(token: string): Promise<ReviewedUser | null> {
      const r = await review('authentication.k8s.io', 'TokenReview', { token });
      const u = r.status?.user;
      if (r.status?.authenticated !== true || u?.username === undefined) return null;
      return {
        username: u.username,
        groups: u.groups ?? [],
        ...(u.uid === undefined ? {} : { uid: u.uid }),
        ...(u.extra === undefined ? {} : { extra: u.extra }),
      };
    },
    async authorize(user: ReviewedUser, attrs: RequestAttributes, resource?: ResourceRef) {
      const r = await review('authorization.k8s.io', 'SubjectAccessReview', {
            user: user.username,
            groups: [...user.groups],
            ...(user.uid === undefined ? {} : { uid: user.uid }),
            ...(user.extra === undefined ? {} : { extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])) }),
            ...(resource === undefined
              ? { nonResourceAttributes: { path: attrs.path, verb: attrs.verb } }
              : { resourceAttributes: { group: resource.group, resource: resource.resource, verb: attrs.verb, ...(resource.namespace ? { namespace: resource.namespace } : {}), ...(resource.name ? { name: resource.name } : {}) } }),
      });
      return { allowed: r.status?.allowed === true && r.status.denied !== true, reason: r.status?.reason ?? r.status?.evaluationError ?? '' };
    },
  };
}
