/**
 * The AccessReviewer of kube-auth.ts on the real Kubernetes API (@kubernetes/client-node): TokenReview
 * (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1) with non-resource or resource attributes.
 * The caller's ServiceAccount needs `create` on both (the built-in ClusterRole system:auth-delegator).
 */
import { AuthenticationV1Api, AuthorizationV1Api, KubeConfig } from '@kubernetes/client-node';
import { ErrorCodes, KdropError } from '../errors.js';
import type { AccessReviewer, RequestAttributes, ResourceRef, ReviewedUser } from './kube-auth.js';

/** The Kubernetes configuration: a kubeconfig file when given, else the pod's in-cluster one. */
export function loadKubeConfig(kubeconfig?: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
    else {
      // loadFromCluster() does not check its environment: it would make "https://undefined:undefined".
      if (!env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT']) throw new Error('KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are not set');
      kc.loadFromCluster();
    }
    if (!kc.getCurrentCluster()) throw new Error('no current cluster in the configuration');
  } catch (err) {
    throw new KdropError(ErrorCodes.CONFIG, 'cannot authenticate clients through the Kubernetes API: no Kubernetes configuration', {
      expected: 'the pod ServiceAccount (in-cluster) or KUBECONFIG',
      found: err instanceof Error ? err.message : String(err),
      hint: 'run in a pod with automountServiceAccountToken, or set KUBECONFIG; or --auth off',
    });
  }
  return kc;
}

export function kubeReviewer(kc: KubeConfig): AccessReviewer {
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return {
    async authenticate(token: string): Promise<ReviewedUser | null> {
      const r = await authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
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
      const r = await authz.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            groups: [...user.groups],
            ...(user.uid === undefined ? {} : { uid: user.uid }),
            ...(user.extra === undefined ? {} : { extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])) }),
            ...(resource === undefined
              ? { nonResourceAttributes: { path: attrs.path, verb: attrs.verb } }
              : { resourceAttributes: { group: resource.group, resource: resource.resource, verb: attrs.verb, ...(resource.namespace ? { namespace: resource.namespace } : {}), ...(resource.name ? { name: resource.name } : {}) } }),
          },
        },
      });
      return { allowed: r.status?.allowed === true && r.status.denied !== true, reason: r.status?.reason ?? r.status?.evaluationError ?? '' };
    },
  };
}
