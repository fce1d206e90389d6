import { execFileSync } from 'node:child_process';

/** Whether a command is on PATH (the benchmark skips or adapts scenarios whose tools are missing). */
export function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
