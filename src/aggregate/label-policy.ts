import type { DropEntry } from '../enrich/types.js';
import { reasonClassOf } from '../enrich/reason-catalog.js';
import { ALL_LABELS, Attr, DEFAULT_LABELS, type DropAttributeName } from '../vocabulary/attributes.js';

/** Exported attributes of one series: attribute name -> value. Absent attributes are left out. */
export type SeriesAttributes = Readonly<Record<string, string>>;

export interface LabelPolicy {
  readonly labels: readonly DropAttributeName[];
  /** The selected attributes of a drop entry. */
  attributesOf(entry: DropEntry): SeriesAttributes;
}

const known = new Set<string>(ALL_LABELS);

export interface LabelParseResult {
  readonly labels: DropAttributeName[];
  /** Names that are not kdrop attributes (the caller reports them). */
  readonly unknown: string[];
}

/**
 * Parses a --labels list. A plain list replaces the default set; when every item starts with + or -,
 * the items are added to / removed from the defaults (`+kdrop.netns.inode`, `-kdrop.function`).
 * `default` stands for the default set. Order of the result follows the documented attribute order.
 */
export function parseLabels(items: readonly string[]): LabelParseResult {
  const names = items.map((s) => s.trim()).filter((s) => s.length > 0);
  const relative = names.length > 0 && names.every((n) => n.startsWith('+') || n.startsWith('-'));
  const selected = new Set<string>(relative ? DEFAULT_LABELS : []);
  const unknown: string[] = [];
  for (const raw of names) {
    const op = raw.startsWith('-') ? '-' : '+';
    const name = raw.replace(/^[+-]/, '');
    if (name === 'default') {
      for (const d of DEFAULT_LABELS) {
        if (op === '+') selected.add(d);
        else selected.delete(d);
      }
      continue;
    }
    if (!known.has(name)) {
      unknown.push(name);
      continue;
    }
    if (op === '+') selected.add(name);
    else selected.delete(name);
  }
  return { labels: ALL_LABELS.filter((n) => selected.has(n)), unknown };
}

function value(entry: DropEntry, name: DropAttributeName): string | null {
  switch (name) {
    case Attr.reason:
      return entry.reason;
    case Attr.reasonClass:
      return reasonClassOf(entry.reason);
    case Attr.function:
      // An address no symbol covers stays visible as its hex address rather than vanishing.
      return entry.function ?? entry.location;
    case Attr.networkType:
      return entry.networkType;
    case Attr.scope:
      return entry.owner.scope;
    case Attr.namespace:
      return entry.owner.scope === 'pod' ? entry.owner.namespace : null;
    case Attr.pod:
      return entry.owner.scope === 'pod' ? entry.owner.pod : null;
    case Attr.location:
      return entry.location;
    case Attr.podUid:
      return entry.owner.scope === 'pod' ? entry.owner.podUid : null;
    case Attr.netnsInode:
      return entry.netns === null ? null : String(entry.netns);
  }
}

export function labelPolicy(labels: readonly DropAttributeName[] = DEFAULT_LABELS): LabelPolicy {
  const selected = [...labels];
  return {
    labels: selected,
    attributesOf(entry) {
      const out: Record<string, string> = {};
      for (const name of selected) {
        const v = value(entry, name);
        if (v !== null && v !== '') out[name] = v;
      }
      return out;
    },
  };
}
