/** `kdrop-probe --check`: which attach types load and attach on this kernel (for `kdrop doctor`). */
import { execFile } from 'node:child_process';
import { parseProbeLine, type AttachType } from './protocol.js';

export interface ProbeCheck {
  readonly attach: AttachType;
  readonly ok: boolean;
  readonly message: string;
}

/** Runs the loader's self-check; rejects when it cannot run at all. */
export function checkProbe(probe: string, timeoutMs = 30_000): Promise<{ results: ProbeCheck[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(probe, ['--check'], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const results: ProbeCheck[] = [];
      for (const line of String(stdout).split('\n')) {
        try {
          const ev = parseProbeLine(line);
          if (ev?.kind === 'check') results.push({ attach: ev.attach, ok: ev.ok, message: ev.message });
        } catch {
          // ignore
        }
      }
      if (results.length === 0 && err) return reject(err);
      resolve({ results, stderr: String(stderr) });
    });
  });
}
