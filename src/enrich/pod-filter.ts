/** `kdrop watch --pod NAMESPACE/NAME`: keeps only the drops of that pod. */
import { KdropError, ErrorCodes, excerpt } from '../errors.js';
import type { NetnsOwner } from './types.js';

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

/** DNS-1123 label (namespace) / subdomain (pod name), as the API validates them. */
const NS_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Parses `NAMESPACE/NAME`. Throws KdropError CONFIG otherwise. */
export function parsePodRef(text: string): PodRef {
  const parts = text.split('/');
  const [namespace, name] = parts;
  if (parts.length !== 2 || namespace === undefined || name === undefined || !NS_RE.test(namespace) || !NAME_RE.test(name)) {
    throw new KdropError(ErrorCodes.CONFIG, 'invalid --pod value', {
      expected: 'NAMESPACE/NAME of a pod (e.g. default/web-0)',
      found: excerpt(text),
    });
  }
  return { namespace, name };
}

/** A predicate on resolved owners that keeps the given pod's drops only. */
export function podFilter(ref: string | PodRef): (owner: NetnsOwner) => boolean {
  const { namespace, name } = typeof ref === 'string' ? parsePodRef(ref) : ref;
  return (owner) => owner.scope === 'pod' && owner.namespace === namespace && owner.pod === name;
}
