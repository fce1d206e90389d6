import { hostname } from 'node:os';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ResourceAttr, SERVICE_NAME } from './metric-names.js';
import { packageVersion } from '../package-root.js';

/** kdrop's version from package.json ("0.0.0" when it cannot be read). */
export function kdropVersion(): string {
  return packageVersion();
}

/**
 * OTEL_RESOURCE_ATTRIBUTES (`k=v,k2=v2`, values percent-encoded per the spec) and OTEL_SERVICE_NAME.
 * Malformed pairs are skipped, as the SDK does.
 */
export function resourceAttributesFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (env['OTEL_RESOURCE_ATTRIBUTES'] ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    const key = pair.slice(0, i).trim();
    let value = pair.slice(i + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      continue;
    }
    if (key.length > 0) out[key] = value;
  }
  const serviceName = env['OTEL_SERVICE_NAME']?.trim();
  if (serviceName) out[ResourceAttr.serviceName] = serviceName;
  return out;
}

export interface ResourceOptions {
  readonly version: string;
  /** Kubernetes node name (NODE_NAME, from the downward API). */
  readonly nodeName: string | undefined;
  readonly hostName?: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * service.name=kdrop, service.version, host.name, k8s.node.name (when NODE_NAME is set); attributes from
 * OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME override these, as the OpenTelemetry spec has it.
 */
export function kdropResource(o: ResourceOptions): Resource {
  const base: Record<string, string> = {
    [ResourceAttr.serviceName]: SERVICE_NAME,
    [ResourceAttr.serviceVersion]: o.version,
    [ResourceAttr.hostName]: o.hostName ?? hostname(),
  };
  if (o.nodeName) base[ResourceAttr.nodeName] = o.nodeName;
  return resourceFromAttributes(base).merge(resourceFromAttributes(resourceAttributesFromEnv(o.env)));
}
