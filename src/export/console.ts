import type { DropEntry, NetnsOwner } from '../enrich/types.js';
import { reasonClassOf } from '../enrich/reason-catalog.js';

/** The seed's words (dropwatch.stp), kept as watch's plain-text form. */
export const HEADER = 'Monitoring for dropped packets';
export const FOOTER = 'Stopping dropped packet monitor';

export function ownerText(owner: NetnsOwner, netns: number | null): string {
  switch (owner.scope) {
    case 'pod':
      return `[pod ${owner.namespace ?? '?'}/${owner.pod ?? '?'}]`;
    case 'host':
      return '[host]';
    case 'netns':
      return netns === null ? '[netns unknown]' : `[netns ${netns}]`;
  }
}

/** `51 packets dropped at __udp4_lib_rcv+0x4bc (NO_SOCKET, error) [netns 4026531833]`: reason and its class. */
export function formatLine(e: DropEntry): string {
  const what = e.count === 1 ? 'packet' : 'packets';
  const reason = e.reason === null ? '' : ` (${e.reason}, ${reasonClassOf(e.reason) ?? 'unknown'})`;
  const mod = e.module === null ? '' : ` [${e.module}]`;
  return `${e.count} ${what} dropped at ${e.location}${mod}${reason} ${ownerText(e.owner, e.netns)}`;
}

export function formatText(entries: readonly DropEntry[]): string {
  return entries.map((e) => `${formatLine(e)}\n`).join('');
}
