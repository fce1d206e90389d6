/**
 * Keeps `import ... from 'node:http'` from loading Node's bundled undici (~750 KB of source, measured
 * ~6 MB of the agent's RSS). node:http exports WebSocket, CloseEvent and MessageEvent as lazy getters
 * that load undici, and the ESM facade of a builtin reads every export once, when the first ESM import
 * of it is linked (the Prometheus exporter and the health server import node:http). kdrop never uses
 * them.
 *
 * `whileLoading` hides those three getters while `load` imports the program, then puts them back:
 * `require('node:http').WebSocket` still works (lazily); only the ESM named bindings of these three
 * (`import { WebSocket } from 'node:http'`, used nowhere in kdrop) read undefined.
 */
import { createRequire } from 'node:module';

const LAZY_UNDICI_EXPORTS = ['WebSocket', 'CloseEvent', 'MessageEvent'] as const;

export async function withoutHttpUndiciExports<T>(load: () => Promise<T>): Promise<T> {
  const http = createRequire(import.meta.url)('node:http') as Record<string, unknown>;
  const hidden: [string, PropertyDescriptor][] = [];
  for (const key of LAZY_UNDICI_EXPORTS) {
    const d = Object.getOwnPropertyDescriptor(http, key);
    // Only a configurable accessor (the lazy getter) is hidden; anything else is left alone.
    if (d?.get === undefined || d.configurable !== true) continue;
    delete http[key];
    hidden.push([key, d]);
  }
  try {
    return await load();
  } finally {
    for (const [key, d] of hidden) Object.defineProperty(http, key, d);
  }
}
