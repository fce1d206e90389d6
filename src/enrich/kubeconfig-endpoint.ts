/** A KubeEndpoint (kube-endpoint.ts) from a kubeconfig file's current context, with @kubernetes/client-node's KubeConfig. */
import { KubeConfig } from '@kubernetes/client-node';
import type { RequestOptions } from 'node:https';
import type { KubeEndpoint } from './kube-endpoint.js';

export function fromKubeconfig(file: string): KubeEndpoint {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`no current cluster in ${file}`);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    // Client certificates, tokens, exec plugins and proxy-url, as the file says; credentials refreshed as they expire.
    async requestOptions() {
      const o: RequestOptions = { headers: {} };
      await kc.applyToHTTPSOptions(o);
      return o;
    },
  };
}
