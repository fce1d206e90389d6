/**
 * Boots a kernel of the matrix in QEMU (TCG: the /dev/kvm of these machines cannot boot Debian kernels) with the
 * initramfs of its architecture and a serial console, no network device (amd64: qemu-system-x86_64, ttyS0;
 * arm64: qemu-system-aarch64 -M virt, the PL011 at ttyAMA0), and collects what the guest reports on the console:
 * lines `@@KDROP-VM@@ {json}` (one per check) and `@@KDROP-VM-EXIT@@ code`. Every boot has a hard timeout.
 * A crash, a hang or a guest that ends without its exit line is an error naming the kernel, with the tail of
 * its console.
 */
import { spawn } from 'node:child_process';

/** The architectures of the matrix (Debian's names; a kernel's is its package's). */
export type Arch = 'amd64' | 'arm64';

export interface VmKernel {
  readonly arch: Arch;
  /** uname -r of the kernel. */
  readonly release: string;
  /** The pin it came from (SUITE:PACKAGE=VERSION). */
  readonly pin: string;
  readonly vmlinuz: string;
  readonly config: string;
  /** Its modules the guest loads (nftables). */
  readonly modules: string;
}

export interface BootOptions {
  /** The QEMU system emulator of the kernel's architecture. */
  readonly qemu: string;
  readonly initramfs: string;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly mode: string;
  readonly timeoutMs: number;
}

export interface VmRun {
  readonly kernel: VmKernel;
  readonly mode: string;
  readonly checks: Map<string, Record<string, unknown>>;
  readonly console: string;
  readonly seconds: number;
}

const MARK = '@@KDROP-VM@@ ';
const EXIT = '@@KDROP-VM-EXIT@@ ';

export function consoleTail(text: string, lines = 40): string {
  return text.replace(/\r/g, '').split('\n').slice(-lines).join('\n');
}

export class VmError extends Error {}

export async function bootVm(kernel: VmKernel, o: BootOptions): Promise<VmRun> {
  const [machine, tty] = kernel.arch === 'arm64' ? [['-M', 'virt'], 'ttyAMA0'] : [[], 'ttyS0'];
  const args = [
    ...machine, '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', String(o.cpus), '-m', `${o.memoryMb}M`,
    '-nographic', '-no-reboot', '-nic', 'none', '-nodefaults', '-serial', 'stdio', '-monitor', 'none',
    '-kernel', kernel.vmlinuz, '-initrd', o.initramfs,
    '-append', `console=${tty} quiet loglevel=1 panic=-1 rdinit=/init kdrop.mode=${o.mode}`,
  ];
  const started = Date.now();
  const child = spawn(o.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, o.timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve({ code: c, signal: s }));
  }).finally(() => clearTimeout(timer));
  const seconds = (Date.now() - started) / 1000;
  const name = `kernel ${kernel.release} (${kernel.pin}, ${kernel.arch}, ${o.cpus} vCPUs, ${o.mode})`;
  const tail = (): string => `\n--- console tail ---\n${consoleTail(text)}\n---`;
  if (timedOut) throw new VmError(`VM of ${name} hung: no power-off within ${o.timeoutMs / 1000} s, QEMU killed${tail()}`);
  const lines = text.replace(/\r/g, '').split('\n');
  const exitLine = lines.find((l) => l.startsWith(EXIT));
  if (exitLine === undefined) {
    throw new VmError(`VM of ${name} ended without the guest's exit line (QEMU exit ${code ?? signal}; a kernel panic or crash?) after ${seconds.toFixed(1)} s${tail()}`);
  }
  const checks = new Map<string, Record<string, unknown>>();
  for (const l of lines) {
    const i = l.indexOf(MARK);
    if (i < 0) continue;
    try {
      const rec = JSON.parse(l.slice(i + MARK.length)) as Record<string, unknown>;
      if (typeof rec['check'] === 'string') checks.set(rec['check'], rec);
    } catch {
      throw new VmError(`VM of ${name}: a garbled result line on the console: ${l.slice(0, 300)}${tail()}`);
    }
  }
  const guestExit = Number(exitLine.slice(EXIT.length).trim());
  if (guestExit !== 0) throw new VmError(`VM of ${name}: the guest checks exited ${guestExit}${tail()}`);
  return { kernel, mode: o.mode, checks, console: text, seconds };
}
