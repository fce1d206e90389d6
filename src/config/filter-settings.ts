/** The drop filters `watch` and `trace` share: one definition of each setting and of list flags. */
import { z } from 'zod';
import type { SettingsTable } from './settings.js';
import { parsePodRef } from '../enrich/pod-filter.js';
import { KdropError } from '../errors.js';

/** Repeatable, comma-separated flag values -> one list. */
export const list = (items: string[] | undefined): string[] =>
  (items ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);

export const names = (pattern: RegExp, message: string) => z.array(z.string().regex(pattern, { message }));

/** NAMESPACE/NAME, validated by the enrich stage's parser (the one place that knows Kubernetes names). */
const podRef = z.string().transform((s, ctx) => {
  try {
    return parsePodRef(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof KdropError ? `expected ${err.expected ?? 'NAMESPACE/NAME'}, found ${err.found ?? s}` : String(err) });
    return z.NEVER;
  }
});

export const FILTER_SETTINGS = {
  pod: { flag: '--pod', schema: podRef.optional() },
  all: { flag: '--all', default: false, schema: z.boolean() },
  reasons: { flag: '--reason', schema: names(/^[A-Za-z0-9_]+$/, 'expected a reason name like NO_SOCKET') },
  functions: { flag: '--function', schema: names(/^[A-Za-z0-9_.$]+$/, 'expected a kernel function name') },
  netns: { flag: '--netns', schema: z.array(z.string().regex(/^\d+$/, { message: 'expected a netns inode number' }).transform(Number)) },
} as const satisfies SettingsTable;
