# kdrop: per-node packet drop monitor (kfree_skb tracer + OpenTelemetry agent).
#
#   docker build -t kdrop .            # or, without a daemon:
#   buildah bud --isolation chroot -t kdrop .
#
# Build stages use node:24-trixie-slim (Debian 13 "trixie" + Node 24). The runtime image is FROM scratch:
# the files of four Debian packages of that same base (libc6, libstdc++6, libgcc-s1, tini), its CA
# bundle and its Node binary, plus kdrop bundled (dist/kdrop.mjs and its chunks; no node_modules) and
# the static kernel probe.
# No shell, no package manager, no npm.
# By digest: a release is built from exactly this base (scripts/image/build.sh passes its local stand-in).
ARG NODE_IMAGE=node:24-trixie-slim@sha256:8ec5d7557396cfe32d21c3f9c13072355ceab22b584578ca4bb28af31120cffe

# ---- build: bundle the application, tree-shaken, into ES modules (scripts/bundle.mjs, esbuild) ---------
# Only dist/bundle/ (kdrop.mjs and its lazily loaded chunks/) leaves this stage: no dependency, dev or
# terminal-UI package (ink, react, pino-pretty) is in the image. Type checking is CI's job (npm run build); esbuild strips the types.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing in the dependency tree needs an install script to bundle; the devDependency
# "node" (the pinned Node binary for local runs) would otherwise download a second Node. esbuild's
# platform binary comes as an optional dependency (@esbuild/linux-x64, -arm64), which needs no script.
# Optional build secret "ca": extra CA certificates for a TLS-intercepting proxy in front of the npm
# registry (`--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt`); absent, Node's own CAs are used.
RUN --mount=type=secret,id=ca \
    NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY scripts/bundle.mjs ./scripts/bundle.mjs
RUN node scripts/bundle.mjs /src/dist/bundle && test -s /src/dist/bundle/kdrop.mjs

# ---- probe: kdrop's kernel probe, a CO-RE BPF program embedded in a static libbpf loader ------------
# Only the static binary leaves this stage: the runtime image needs neither LLVM nor libbpf. vmlinux.h is
# generated from the kernel BTF the build container sees (the build host's /sys/kernel/btf/vmlinux; the
# build arg VMLINUX_BTF names another path inside the build container); CO-RE relocates the program to
# the BTF of whatever kernel it runs on, whatever its architecture.
# The stage runs on the build platform and builds for the target's (TARGETARCH) with scripts/build-probe.sh,
# the way the tests build it: natively where they are the same; for arm64 on an amd64 builder, cross-compiled
# (KDROP_PROBE_ARCH=arm64: gcc-aarch64-linux-gnu against the arm64 libbpf/libelf/zlib/zstd .debs pinned in
# scripts/tools/versions.env, KDROP_ARM64_SYSROOT, fetched by scripts/tools/arm64-sysroot.sh), which is what
# the arm64 VM of test/vm runs. No emulation: the arm64 build does not run arm64 code.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS probe
ARG TARGETARCH
ARG VMLINUX_BTF=/sys/kernel/btf/vmlinux
RUN cross=""; \
    if [ -n "${TARGETARCH}" ] && [ "${TARGETARCH}" != "$(dpkg --print-architecture)" ]; then cross="gcc-aarch64-linux-gnu libc6-dev-arm64-cross debian-archive-keyring"; fi; \
    apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev libelf-dev zlib1g-dev libzstd-dev bpftool make gcc libc6-dev file ${cross} \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
WORKDIR /src
COPY probe ./probe
COPY scripts/build-probe.sh ./scripts/build-probe.sh
COPY scripts/tools/arm64-sysroot.sh scripts/tools/versions.env ./scripts/tools/
COPY scripts/tools/lib ./scripts/tools/lib
RUN VMLINUX_BTF="${VMLINUX_BTF}" KDROP_PROBE_ARCH="${TARGETARCH:-native}" KDROP_TOOLS_CACHE=/tmp/kdrop-tools \
      KDROP_PROBE_OUT=/src/build/probe bash scripts/build-probe.sh \
 && file /src/build/probe/kdrop-probe \
 && file /src/build/probe/kdrop-probe | grep -q 'statically linked' \
 && rm -rf /tmp/kdrop-tools

# ---- rootfs: the runtime's OS, made from Debian packages --------------------------------------------
# The files dpkg lists for libc6, libstdc++6 and libgcc-s1 (what the Node binary links against) and tini,
# less their docs, locales and iconv modules (Node has ICU built in); the CA bundle ca-certificates makes;
# the base image's Node binary, stripped of its symbol tables (-18 MB; JavaScript stack traces are
# unaffected, native crash backtraces show addresses only); the loader cache for exactly these libraries.
# (The target platform's packages: this stage runs on it, emulated where it is not the build platform.)
FROM ${NODE_IMAGE} AS rootfs
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates binutils \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
RUN set -eu; \
    mkdir -p /rootfs; \
    for d in usr/bin usr/sbin usr/lib usr/local/bin etc tmp app proc sys dev run; do mkdir -p "/rootfs/$d"; done; \
    for l in bin sbin lib; do ln -s "usr/$l" "/rootfs/$l"; done; \
    if [ -d /usr/lib64 ]; then mkdir -p /rootfs/usr/lib64 && ln -s usr/lib64 /rootfs/lib64; fi; \
    dpkg -L libc6 libstdc++6 libgcc-s1 tini \
      | grep -Ev '^/usr/share/(doc|lintian|man|locale|gdb|gcc|info)/|/gconv/' \
      | while read -r f; do \
          if [ -d "$f" ] && [ ! -L "$f" ]; then continue; fi; \
          if [ ! -e "$f" ] && [ ! -L "$f" ]; then continue; fi; \
          d="/rootfs$(readlink -f "$(dirname "$f")")"; mkdir -p "$d"; cp -a "$f" "$d/"; \
        done; \
    mkdir -p /rootfs/etc/ssl/certs; \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
    strip --strip-all -o /rootfs/usr/local/bin/node "$(command -v node)"; \
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nnogroup:x:65534:\n' > /rootfs/etc/group; \
    chmod 1777 /rootfs/tmp; \
    ldconfig -r /rootfs; \
    chroot /rootfs /usr/local/bin/node -e 'process.stdout.write(process.version + "\n")'; \
    chroot /rootfs /usr/bin/tini --version; \
    du -sh /rootfs

# ---- runtime-base: the OS of the runtime image and its kernel probe (what the capability tests run) ---
FROM scratch AS runtime-base
COPY --from=rootfs /rootfs/ /
# Where the bpf source looks by default (src/source/bpf/locate.ts: <package root>/build/probe/kdrop-probe).
COPY --from=probe /src/build/probe/kdrop-probe /app/build/probe/kdrop-probe
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---- runtime ---------------------------------------------------------------------------------------
FROM runtime-base
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="kdrop" \
      org.opencontainers.image.description="Where, why and for which pod the Linux kernel drops packets (kfree_skb), exported with OpenTelemetry" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

WORKDIR /app
# package.json: the version kdrop reports, and how the bundle finds its package root (and the probe).
COPY package.json ./package.json
COPY --from=build /src/dist/bundle/ ./dist/

ENV NODE_ENV=production
# Non-root is not possible for a tracer. Loading BPF programs, attaching to a kernel tracepoint, reading
# real addresses from /proc/kallsyms and reading other processes' network namespace links all need
# capabilities (CAP_BPF, CAP_PERFMON, CAP_SYSLOG, CAP_SYS_PTRACE), and tracefs and bpffs are owned by root
# with no access for others.
# The container therefore runs as uid 0, but with ALL capabilities dropped except the few the Helm
# chart adds back (see docs/security.md), a read-only root filesystem and no privilege escalation.
USER 0:0
# tini -s: registers as child subreaper, since with hostPID it is not PID 1 and must still reap the probe.
# tini without -g: SIGTERM goes to Node only; Node stops the probe itself after reading the last counts.
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "node", "/app/dist/kdrop.mjs"]
CMD ["agent"]
