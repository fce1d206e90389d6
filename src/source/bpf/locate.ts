/** Where kdrop-probe is: KDROP_PROBE, else what scripts/build-probe.sh built next to this package. */
import { access, constants } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** build/probe/kdrop-probe at the package root (dist/src/source/bpf/ is four levels below it). */
export const DEFAULT_PROBE_PATH = fileURLToPath(new URL('../../../../build/probe/kdrop-probe', import.meta.url));

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
