/**
 * The container image without a container engine: build it with buildah (scripts/image/build.sh, base
 * image stand-in from scripts/image/make-base.sh), mount it, and run commands in a chroot of it shaped
 * like the Kubernetes container the chart makes: read-only root, tmpfs /tmp, the host's /proc (hostPID),
 * /sys and /dev, uid 0 with only the given capabilities (bounding set; no_new_privs as with
 * allowPrivilegeEscalation: false). The image has no shell and no setpriv: the host's setpriv, with its
 * own loader and libraries, is put in the chroot's tmpfs /tmp and drops the capabilities there.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { load } from 'js-yaml';
import { chartDir, repoRoot } from './deploy-helm.js';

const run = promisify(execFile);
const buildScript = `${repoRoot}scripts/image/build.sh`;

/** Why images cannot be built and run here, or null. */
export function imageSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (buildah, chroot, bpftrace)';
  const path = (process.env['PATH'] ?? '').split(':');
  for (const tool of ['buildah', 'debootstrap', 'chroot', 'mount']) {
    if (!path.some((d) => d !== '' && existsSync(`${d}/${tool}`))) return `needs ${tool} (Debian packages buildah, debootstrap)`;
  }
  return null;
}

/**
 * Builds the image (or one stage of it) and returns its name. Minutes on a fresh machine, cached after.
 * `arch`: another architecture's image (scripts/image/build.sh --arch, no emulation).
 */
export async function buildImage(opts: { target?: string; tag: string; arch?: 'amd64' | 'arm64' }): Promise<string> {
  // A prebuilt image (e.g. from another checkout) instead of building this one: full image of this host only.
  const prebuilt = process.env['KDROP_TEST_IMAGE'];
  if (prebuilt && opts.target === undefined && opts.arch === undefined) return prebuilt;
  const args = [buildScript, '--tag', opts.tag];
  if (opts.target) args.push('--target', opts.target);
  if (opts.arch) args.push('--arch', opts.arch);
  try {
    const { stdout } = await run('bash', args, { maxBuffer: 256 << 20, timeout: 30 * 60_000 });
    return stdout.trim().split('\n').at(-1) ?? opts.tag;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`image build failed: ${(e.stderr ?? e.message).split('\n').slice(-25).join('\n')}`);
  }
}

/** The capabilities the chart adds back by default (values.yaml capabilities.add), upper case, no CAP_. */
export function chartCapabilities(): string[] {
  const values = load(readFileSync(`${chartDir}/values.yaml`, 'utf8')) as { capabilities?: { add?: string[] } };
  return (values.capabilities?.add ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, ''));
}

export interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly stdoutLines: string[];
  readonly stderrLines: string[];
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface MountedImage {
  /** The chroot's root directory (read-only bind of the image). */
  readonly root: string;
  /** Starts argv in the chroot as uid 0 with exactly `caps` (or every capability: 'all'). */
  spawn(argv: readonly string[], caps: readonly string[] | 'all', env?: Record<string, string>): Spawned;
  /** Runs argv to completion (timeout in ms), like spawn. */
  exec(argv: readonly string[], caps: readonly string[] | 'all', timeoutMs?: number): Promise<Exec>;
  close(): Promise<void>;
}

/** Inside the chroot: /tmp/.kdrop-setpriv/ holds the host's setpriv, its loader and libraries. */
const SETPRIV_DIR = '/tmp/.kdrop-setpriv';

/** Copies the host's setpriv and what `ldd` says it loads into root + SETPRIV_DIR; returns its argv prefix. */
async function stageSetpriv(root: string): Promise<string[]> {
  const host = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  if (!host) throw new Error('the image has no setpriv and neither has this host (Debian package util-linux)');
  const { stdout } = await run('ldd', [host]);
  const libs = [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
  const loader = libs.find((l) => basename(l).startsWith('ld-linux'));
  if (!loader) throw new Error(`no loader in ldd ${host}: ${stdout}`);
  mkdirSync(`${root}${SETPRIV_DIR}`, { recursive: true });
  for (const lib of libs) copyFileSync(lib, `${root}${SETPRIV_DIR}/${basename(lib)}`);
  copyFileSync(host, `${root}${SETPRIV_DIR}/setpriv`);
  return [`${SETPRIV_DIR}/${basename(loader)}`, '--library-path', SETPRIV_DIR, `${SETPRIV_DIR}/setpriv`];
}

function capsArgs(caps: readonly string[] | 'all', setpriv: readonly string[]): string[] {
  if (caps === 'all') return [];
  const bounding = ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
  // uid 0 gets its permitted/effective set from the bounding set at exec, as in a container started
  // with `capabilities: {drop: [ALL], add: [...]}`; no_new_privs as with allowPrivilegeEscalation: false.
  return [...setpriv, `--bounding-set=${bounding}`, '--inh-caps=-all', '--no-new-privs', '--'];
}

const baseEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp', NODE_ENV: 'production' };

/** Mounts the image and prepares the chroot; close() undoes all of it. */
export async function mountImage(image: string): Promise<MountedImage> {
  const name = `kdrop-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  await run('buildah', ['from', '--pull-never', '--name', name, image]);
  const mounts: string[] = [];
  const dir = mkdtempSync('/tmp/kdrop-image-');
  const root = `${dir}/root`;
  let setpriv = ['setpriv'];
  const cleanup = async (): Promise<void> => {
    for (const m of mounts.reverse()) {
      await run('mount', ['--make-rslave', m]).catch(() => undefined);
      await run('umount', ['-R', m]).catch(() => run('umount', ['-l', m]).catch(() => undefined));
    }
    mounts.length = 0;
    await run('buildah', ['rm', name]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { stdout } = await run('buildah', ['mount', name]);
    const merged = stdout.trim();
    await run('mkdir', ['-p', root]);
    await run('mount', ['--bind', merged, root]);
    mounts.push(root);
    await run('mount', ['-o', 'remount,bind,ro', root]); // readOnlyRootFilesystem: true
    for (const [src, dst] of [['/proc', 'proc'], ['/sys', 'sys'], ['/dev', 'dev']] as const) {
      await run('mount', ['--rbind', src, `${root}/${dst}`]);
      await run('mount', ['--make-rslave', `${root}/${dst}`]);
      mounts.push(`${root}/${dst}`);
    }
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=1777', 'tmpfs', `${root}/tmp`]); // emptyDir /tmp
    mounts.push(`${root}/tmp`);
    if (!existsSync(`${root}/usr/bin/setpriv`)) setpriv = await stageSetpriv(root);
  } catch (err) {
    await cleanup();
    throw err;
  }

  const spawnIn = (argv: readonly string[], caps: readonly string[] | 'all', env: Record<string, string> = {}): Spawned => {
    const child = spawn('chroot', [root, ...capsArgs(caps, setpriv), ...argv], {
      cwd: '/',
      env: { ...baseEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdoutLines: string[] = [];
    const stderrLines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => stdoutLines.push(l));
    createInterface({ input: child.stderr! }).on('line', (l) => stderrLines.push(l));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return {
      child,
      stdoutLines,
      stderrLines,
      exited,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
  };

  return {
    root,
    spawn: spawnIn,
    async exec(argv, caps, timeoutMs = 60_000) {
      const p = spawnIn(argv, caps);
      const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
      const code = await p.exited;
      clearTimeout(timer);
      return { code, stdout: p.stdoutLines.join('\n'), stderr: p.stderrLines.join('\n') };
    },
    close: cleanup,
  };
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
