/** Where kdrop-probe is: KDROP_PROBE, else what scripts/build-probe.sh built next to this package. */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../package-root.js';

/** build/probe/kdrop-probe at the package root (the compiled tree and the image's bundle find it alike). */
export const DEFAULT_PROBE_PATH = join(packageRoot(), 'build', 'probe', 'kdrop-probe');

export function probePath(env: NodeJS.ProcessEnv = process.env): string {
  const p = env['KDROP_PROBE']?.trim();
  return p ? p : DEFAULT_PROBE_PATH;
}

/** True when the file exists and is executable. */
export async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}
