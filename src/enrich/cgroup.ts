/**
 * /proc/<pid>/cgroup parsing: which Kubernetes pod (and container) a process belongs to.
 *
 * kubelet names pod cgroups after the pod UID for both cgroup drivers:
 * - cgroupfs: `/kubepods[/burstable|/besteffort]/pod<uid>/<container>`
 * - systemd:  `/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_with_underscores>.slice/<container>.scope`
 * and the runtimes name the container cgroup `<id>` (containerd/Docker with cgroupfs), `cri-containerd-<id>.scope`,
 * `crio-<id>.scope` or `crio-<id>`, `docker-<id>.scope`, or containerd's `...pod<uid>.slice:cri-containerd:<id>`.
 * cgroup v1 files have one line per hierarchy (`12:memory:/kubepods/...`), v2 one line (`0::/kubepods.slice/...`).
 * Paths may carry a prefix (kind: `/kubelet.slice/kubelet-kubepods.slice/...`, nested containers: `/docker/<id>/kubepods/...`)
 * or, when read from inside another cgroup namespace, leading `/..` segments: the pod part is matched anywhere.
 *
 * Static pods run under the UID kubelet derives from their manifest (32 hex digits, no dashes); their mirror
 * pod in the API carries it in the `kubernetes.io/config.mirror` annotation (see pod-cache.ts).
 *
 * Contract: a line that is not `hierarchy-id:controllers:path` throws KdropError ENRICH_PARSE; a well-formed line
 * of a process that is not in a pod cgroup gives null.
 */
import { KdropError, ErrorCodes, excerpt } from '../errors.js';

export interface CgroupPodRef {
  /** Pod UID, lower case, with dashes (`_` of systemd slice names turned back into `-`). */
  readonly podUid: string;
  /** 64-hex container ID, or null for a pod-level cgroup or a runtime helper (e.g. CRI-O's conmon). */
  readonly containerId: string | null;
  /** Runtime named by the cgroup, when it names one. */
  readonly runtime: 'containerd' | 'cri-o' | 'docker' | null;
}

const UUID = '[0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12}';
const HASH = '[0-9a-fA-F]{32}';
/** `pod<uid>` as a whole path segment or as the last part of a systemd slice name. */
const POD_RE = new RegExp(`(?:^|[/-])pod(${UUID}|${HASH})(?:\\.slice)?(?=$|[/:])`);
const ID = '[0-9a-f]{64}';
const CONTAINER_RES: ReadonlyArray<readonly [RegExp, CgroupPodRef['runtime']]> = [
  [new RegExp(`^cri-containerd-(${ID})\\.scope$`), 'containerd'],
  [new RegExp(`^crio-(${ID})(?:\\.scope)?$`), 'cri-o'],
  [new RegExp(`^docker-(${ID})\\.scope$`), 'docker'],
  [new RegExp(`^(${ID})$`), null],
];
const CONTAINERD_SYSTEMD_RE = new RegExp(`\\.slice:cri-containerd:(${ID})$`);
const LINE_RE = /^(\d+):([^:]*):(\/.*)$/;

/** One `hierarchy-id:controllers:path` line. */
export interface CgroupLine {
  readonly hierarchy: number;
  readonly controllers: readonly string[];
  readonly path: string;
}

export function parseCgroupLine(line: string): CgroupLine {
  const m = LINE_RE.exec(line);
  if (!m?.[1] || m[2] === undefined || !m[3]) {
    throw new KdropError(ErrorCodes.ENRICH_PARSE, 'cannot parse /proc/<pid>/cgroup line', {
      expected: '"hierarchy-id:controllers:/path" (e.g. "0::/kubepods.slice/...")',
      found: excerpt(line),
    });
  }
  return { hierarchy: Number(m[1]), controllers: m[2] === '' ? [] : m[2].split(','), path: m[3] };
}

/** Pod and container named by a cgroup path, or null when the path is not a pod cgroup. */
export function podFromCgroupPath(path: string): CgroupPodRef | null {
  const pod = POD_RE.exec(path);
  if (!pod?.[1]) return null;
  const podUid = normalizeUid(pod[1]);
  const rest = path.slice(pod.index + pod[0].length);
  const glued = CONTAINERD_SYSTEMD_RE.exec(path);
  if (glued?.[1]) return { podUid, containerId: glued[1], runtime: 'containerd' };
  const segments = rest.split('/').filter((s) => s !== '');
  // The container cgroup is the first segment below the pod cgroup.
  const first = segments[0];
  if (first !== undefined) {
    for (const [re, runtime] of CONTAINER_RES) {
      const m = re.exec(first);
      if (m?.[1]) return { podUid, containerId: m[1], runtime };
    }
  }
  return { podUid, containerId: null, runtime: null };
}

/**
 * Pod and container of a process from the whole text of /proc/<pid>/cgroup, or null when the process is not in
 * a pod cgroup. With cgroup v1 the lines may disagree (a process moved in one hierarchy only): the first line
 * naming a container wins, else the first naming a pod. Throws ENRICH_PARSE on a malformed line.
 */
export function parseProcCgroup(text: string): CgroupPodRef | null {
  const paths: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line !== '') paths.push(parseCgroupLine(line).path);
  }
  let podOnly: CgroupPodRef | null = null;
  for (const path of paths) {
    const ref = podFromCgroupPath(path);
    if (ref === null) continue;
    if (ref.containerId !== null) return ref;
    podOnly ??= ref;
  }
  return podOnly;
}

/** Pod UIDs as the API shows them: lower case, dashes. */
export function normalizeUid(uid: string): string {
  return uid.replaceAll('_', '-').toLowerCase();
}
