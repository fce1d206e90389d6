/**
 * The kdrop package's root directory: the nearest directory above this module that holds kdrop's
 * package.json. The same answer from the compiled tree (dist/src/...) and from the one-file bundle of the
 * container image (dist/kdrop.mjs), which have this module at different depths.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && isKdrop(file)) return (cached = dir);
    if (dirname(dir) === dir) return (cached = start);
  }
}

function isKdrop(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'kdrop';
  } catch {
    return false;
  }
}

/** kdrop's version from its package.json ("0.0.0" when it cannot be read). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
