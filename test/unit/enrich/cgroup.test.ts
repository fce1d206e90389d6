import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import {
  parseCgroupLine,
  parseProcCgroup,
  podFromCgroupPath,
  type CgroupPodRef,
} from '../../../src/enrich/cgroup.js';

const ID1 = '2b4c3f1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b';
const ID2 = 'e1c8b2f0a95d4c3b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b';
const UID = '8dc2d2f4-3f5e-4c3b-9a1d-6e7f8a9b0c1d';
const UID_ = UID.replaceAll('-', '_');
const STATIC = '6b4f2d5d0c2f5a9d2a7d0d1c1e3b3c4a';

const cases: ReadonlyArray<readonly [string, string, CgroupPodRef | null]> = [
  // cgroup v2, systemd driver
  ['containerd, systemd, v2, burstable', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID1}.scope`, { podUid: UID, containerId: ID1, runtime: 'containerd' }],
  ['containerd, systemd, v2, besteffort', `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID1}.scope`, { podUid: UID, containerId: ID1, runtime: 'containerd' }],
  ['containerd, systemd, v2, guaranteed', `0::/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID1}.scope`, { podUid: UID, containerId: ID1, runtime: 'containerd' }],
  ['CRI-O, systemd, v2', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID2}.scope`, { podUid: UID, containerId: ID2, runtime: 'cri-o' }],
  ['CRI-O conmon: pod, no container', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID2}.scope`, { podUid: UID, containerId: null, runtime: null }],
  ['Docker (cri-dockerd), systemd, v2', `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/docker-${ID1}.scope`, { podUid: UID, containerId: ID1, runtime: 'docker' }],
  ['kind: kubelet cgroup root, v2', `0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID1}.scope`, { podUid: UID, containerId: ID1, runtime: 'containerd' }],
  ['kind node in Docker, seen from the host, v2', `0::/system.slice/docker-${ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID1}.scope`, { podUid: UID, containerId: ID1, runtime: 'containerd' }],
  ['read from another cgroup namespace', `0::/../../kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID1}.scope`, { podUid: UID, containerId: ID1, runtime: 'containerd' }],
  ['containerd systemd cgroupsPath glued form', `0::/system.slice/containerd.service/kubepods-burstable-pod${UID_}.slice:cri-containerd:${ID1}`, { podUid: UID, containerId: ID1, runtime: 'containerd' }],
  // cgroup v2, cgroupfs driver
  ['containerd, cgroupfs, v2', `0::/kubepods/besteffort/pod${UID}/${ID1}`, { podUid: UID, containerId: ID1, runtime: null }],
  ['containerd, cgroupfs, v2, guaranteed', `0::/kubepods/pod${UID}/${ID1}`, { podUid: UID, containerId: ID1, runtime: null }],
  ['CRI-O, cgroupfs', `0::/kubepods/burstable/pod${UID}/crio-${ID2}`, { podUid: UID, containerId: ID2, runtime: 'cri-o' }],
  // cgroup v1
  ['v1 memory, cgroupfs, Docker', `12:memory:/kubepods/burstable/pod${UID}/${ID1}`, { podUid: UID, containerId: ID1, runtime: null }],
  ['v1 cpu,cpuacct, systemd, containerd', `4:cpu,cpuacct:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID1}.scope`, { podUid: UID, containerId: ID1, runtime: 'containerd' }],
  ['v1 name=systemd', `1:name=systemd:/kubepods/besteffort/pod${UID}/${ID1}`, { podUid: UID, containerId: ID1, runtime: null }],
  ['v1 nested in a Docker container (kind on v1)', `11:pids:/docker/${ID2}/kubepods/besteffort/pod${UID}/${ID1}`, { podUid: UID, containerId: ID1, runtime: null }],
  // static pod: manifest-hash UID
  ['static pod, systemd', `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${STATIC}.slice/cri-containerd-${ID1}.scope`, { podUid: STATIC, containerId: ID1, runtime: 'containerd' }],
  ['static pod, cgroupfs', `0::/kubepods/besteffort/pod${STATIC}/${ID1}`, { podUid: STATIC, containerId: ID1, runtime: null }],
  // pod-level cgroup (no container below it)
  ['pod slice only', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`, { podUid: UID, containerId: null, runtime: null }],
  ['upper case UID is normalized', `0::/kubepods/pod${UID.toUpperCase()}/${ID1}`, { podUid: UID, containerId: ID1, runtime: null }],
  // not pods
  ['host process, v2', '0::/init.scope', null],
  ['systemd service', '0::/system.slice/containerd.service', null],
  ['user session', '0::/user.slice/user-1000.slice/session-3.scope', null],
  ['v1 root', '3:devices:/', null],
  ['QoS slice only', '0::/kubepods.slice/kubepods-burstable.slice', null],
  ['"pod" inside another word', `0::/system.slice/mypod${UID}.service`, null],
  ['UID too short', '0::/kubepods/besteffort/pod8dc2d2f4-3f5e-4c3b-9a1d/abc', null],
];

for (const [name, line, want] of cases) {
  test(`cgroup line: ${name}`, () => {
    assert.deepEqual(parseProcCgroup(line), want);
  });
}

const malformed: ReadonlyArray<readonly [string, string]> = [
  ['free text', 'not a cgroup line'],
  ['missing path', '0::'],
  ['relative path', '0::kubepods/pod'],
  ['non-numeric hierarchy', 'x::/kubepods'],
  ['two fields only', '12:/kubepods'],
];

for (const [name, line] of malformed) {
  test(`malformed cgroup line throws ENRICH_PARSE: ${name}`, () => {
    assert.throws(
      () => parseProcCgroup(line),
      (err: unknown) => isKdropError(err, ErrorCodes.ENRICH_PARSE) && /hierarchy-id:controllers/.test(err.message),
    );
  });
}

test('parseCgroupLine splits hierarchy, controllers and path', () => {
  assert.deepEqual(parseCgroupLine('4:cpu,cpuacct:/kubepods/x'), { hierarchy: 4, controllers: ['cpu', 'cpuacct'], path: '/kubepods/x' });
  assert.deepEqual(parseCgroupLine('0::/'), { hierarchy: 0, controllers: [], path: '/' });
});

test('v1 file: the first line naming a container wins over a pod-only line and host lines', () => {
  const text = [
    '13:misc:/',
    `12:rdma:/kubepods/besteffort/pod${UID}`,
    `11:memory:/kubepods/besteffort/pod${UID}/${ID1}`,
    `10:pids:/kubepods/besteffort/pod${UID}/${ID2}`,
    '0::/',
    '',
  ].join('\n');
  assert.deepEqual(parseProcCgroup(text), { podUid: UID, containerId: ID1, runtime: null });
});

test('v1 file with only a pod-level line gives the pod without container', () => {
  assert.deepEqual(parseProcCgroup(`1:name=systemd:/kubepods/pod${UID}\n0::/\n`), { podUid: UID, containerId: null, runtime: null });
});

test('a malformed line anywhere in the file throws', () => {
  assert.throws(() => parseProcCgroup(`0::/kubepods/pod${UID}/${ID1}\ngarbage\n`), (e: unknown) => isKdropError(e, ErrorCodes.ENRICH_PARSE));
});

test('empty file: not a pod', () => {
  assert.equal(parseProcCgroup(''), null);
});

test('podFromCgroupPath ignores a container-like segment above the pod', () => {
  assert.deepEqual(podFromCgroupPath(`/${ID2}/kubepods/pod${UID}`), { podUid: UID, containerId: null, runtime: null });
});

