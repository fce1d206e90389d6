# kdrop: per-node packet drop monitor (kfree_skb tracer + OpenTelemetry agent).
#
#   docker build -t kdrop .            # or, without a daemon:
#   buildah bud --isolation chroot -t kdrop .
#
# Base: node:24-trixie-slim = Debian 13 "trixie" + Node 24. Every stage uses the same base so the Node
# ABI and glibc match between the build and the runtime. The kernel probe (probe/) is built in its own
# stage and copied in as one static binary.
# By digest: a release is built from exactly this base (scripts/image/build.sh passes its local stand-in).
ARG NODE_IMAGE=node:24-trixie-slim@sha256:8ec5d7557396cfe32d21c3f9c13072355ceab22b584578ca4bb28af31120cffe

# ---- build: compile TypeScript with the dev dependencies -------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing in the dependency tree needs an install script to compile TypeScript; the
# devDependency "node" (the pinned Node binary for local runs) would otherwise download a second Node.
# Optional build secret "ca": extra CA certificates for a TLS-intercepting proxy in front of the npm
# registry (`--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt`); absent, Node's own CAs are used.
RUN --mount=type=secret,id=ca \
    NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Compile src/ only (tests and benchmarks stay out of the image); rootDir "." keeps dist/src/ layout.
RUN printf '{"extends":"./tsconfig.json","include":["src"]}' > tsconfig.image.json \
 && node node_modules/typescript/bin/tsc -p tsconfig.image.json \
 && test -f dist/src/cli.js

# ---- deps: production dependencies only ------------------------------------------------------------
# Source maps, type declarations and READMEs are pruned: nothing reads them at run time (~70 MB).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=ca \
    NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete

# ---- probe: kdrop's kernel probe, a CO-RE BPF program embedded in a static libbpf loader ------------
# Only the static binary leaves this stage: the runtime image needs neither LLVM nor libbpf. vmlinux.h is
# generated from the kernel BTF the build container sees (the build host's /sys/kernel/btf/vmlinux; the
# build arg VMLINUX_BTF names another path inside the build container); CO-RE relocates the program to
# the BTF of whatever kernel it runs on.
FROM ${NODE_IMAGE} AS probe
ARG VMLINUX_BTF=/sys/kernel/btf/vmlinux
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev libelf-dev zlib1g-dev libzstd-dev bpftool make gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
WORKDIR /src
COPY probe ./probe
COPY scripts/build-probe.sh ./scripts/build-probe.sh
RUN VMLINUX_BTF="${VMLINUX_BTF}" KDROP_PROBE_OUT=/src/build/probe bash scripts/build-probe.sh \
 && ! ldd /src/build/probe/kdrop-probe >/dev/null 2>&1

# ---- runtime-base: the OS of the runtime image and its kernel probe (what the capability tests run) ---
FROM ${NODE_IMAGE} AS runtime-base
# tini: a tiny init as PID 1 that forwards SIGTERM/SIGINT to Node and reaps zombies, so the agent's
# shutdown (final export, probe stop and unpin) runs. No bpftrace: the kernel probe is the default source
# and tracefs the fallback in the image (docs/architecture.md says why); that keeps LLVM out.
# npm is removed: nothing installs packages at run time, and it is attack surface.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx \
 && tini --version
# Where the bpf source looks by default (dist/src/source/bpf/locate.ts: <package>/build/probe/kdrop-probe).
COPY --from=probe /src/build/probe/kdrop-probe /app/build/probe/kdrop-probe

# ---- runtime ---------------------------------------------------------------------------------------
FROM runtime-base
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="kdrop" \
      org.opencontainers.image.description="Where, why and for which pod the Linux kernel drops packets (kfree_skb), exported with OpenTelemetry" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:24-trixie-slim"

WORKDIR /app
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src

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
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "node", "/app/dist/src/cli.js"]
CMD ["agent"]
