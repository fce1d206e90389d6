/**
 * The version pins of scripts/tools/versions.env (one KEY=value a line), shared with the build scripts in
 * scripts/tools/ and scripts/cluster.sh. An environment variable of the same name wins, as in the scripts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(new URL('../../../scripts/tools/versions.env', import.meta.url));

function load(): Record<string, string> {
  const pins: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) pins[m[1]!] = m[2]!.trim();
  }
  return pins;
}

const pins = load();

/** The pinned version of KEY (e.g. 'KUBERNETES_VERSION'); throws when versions.env has no such pin. */
export function toolVersion(key: string): string {
  const v = process.env[key] ?? pins[key];
  if (v === undefined || v === '') throw new Error(`no ${key} in ${file}`);
  return v;
}
