import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodNetnsResolver, type PodLookup } from '../../../src/enrich/pod-resolver.js';
import type { PodInfo } from '../../../src/enrich/pod-cache.js';
import { scanProc, type ProcScan } from '../../../src/enrich/proc-scan.js';
import { FIXTURE_PROC, HOST_NS, NS_A, NS_B, NS_OTHER, NS_STATIC, POD_A, POD_B, POD_C, STATIC_UID } from './fixture.js';

class FakePods implements PodLookup {
  readonly map = new Map<string, PodInfo>();
  private adds: Array<(p: PodInfo) => void> = [];
  private dels: Array<(p: PodInfo) => void> = [];
  get(uid: string) {
    return this.map.get(uid);
  }
  onAdd(l: (p: PodInfo) => void) {
    this.adds.push(l);
  }
  onDelete(l: (p: PodInfo) => void) {
    this.dels.push(l);
  }
  add(p: PodInfo) {
    this.map.set(p.uid, p);
    if (p.runtimeUid) this.map.set(p.runtimeUid, p);
    for (const l of this.adds) l(p);
  }
  delete(uid: string) {
    const p = this.map.get(uid);
    if (!p) return;
    this.map.delete(uid);
    if (p.runtimeUid) this.map.delete(p.runtimeUid);
    for (const l of this.dels) l(p);
  }
}

const pod = (uid: string, namespace: string, name: string, extra: Partial<PodInfo> = {}): PodInfo => ({
  uid,
  namespace,
  name,
  hostNetwork: false,
  runtimeUid: null,
  ...extra,
});

function fixturePods(): FakePods {
  const pods = new FakePods();
  pods.add(pod(POD_A, 'default', 'web-0'));
  pods.add(pod(POD_B, 'shop', 'cart-7c9f'));
  pods.add(pod(POD_C, 'kube-system', 'node-agent', { hostNetwork: true }));
  pods.add(pod('3f1e9a52-0000-4000-8000-000000000001', 'kube-system', 'etcd-node1', { runtimeUid: STATIC_UID }));
  return pods;
}

test('resolves pods, host, hostNetwork pods, static pods and foreign netns on the fixture tree', async () => {
  const r = await PodNetnsResolver.create({ procDir: FIXTURE_PROC, pods: fixturePods(), rescanPeriodMs: 0 });
  try {
    assert.deepEqual(r.resolve(NS_A), { scope: 'pod', namespace: 'default', pod: 'web-0', podUid: POD_A });
    assert.deepEqual(r.resolve(NS_B), { scope: 'pod', namespace: 'shop', pod: 'cart-7c9f', podUid: POD_B });
    assert.deepEqual(r.resolve(NS_STATIC), {
      scope: 'pod',
      namespace: 'kube-system',
      pod: 'etcd-node1',
      podUid: '3f1e9a52-0000-4000-8000-000000000001',
    });
    assert.deepEqual(r.resolve(HOST_NS), { scope: 'host', namespace: null, pod: null, podUid: null });
    assert.equal(r.resolve(NS_OTHER).scope, 'netns');
    assert.equal(r.unattributed(), 0, 'a first sighting is not counted before a rescan');
  } finally {
    await r.close();
  }
});

test('a netns of a pod the API does not know yet is netns scope until the pod shows up', async () => {
  const pods = new FakePods();
  const r = await PodNetnsResolver.create({ procDir: FIXTURE_PROC, pods, rescanPeriodMs: 0, minRescanIntervalMs: 0 });
  try {
    assert.equal(r.resolve(NS_A).scope, 'netns');
    pods.add(pod(POD_A, 'default', 'web-0'));
    assert.deepEqual(r.resolve(NS_A), { scope: 'pod', namespace: 'default', pod: 'web-0', podUid: POD_A });
  } finally {
    await r.close();
  }
});

test('a hostNetwork pod is scope host even if a scan attributes a netns to it', async () => {
  const pods = new FakePods();
  pods.add(pod(POD_A, 'default', 'hostnet', { hostNetwork: true }));
  const r = await PodNetnsResolver.create({ procDir: FIXTURE_PROC, pods, rescanPeriodMs: 0 });
  try {
    assert.equal(r.resolve(NS_A).scope, 'host');
  } finally {
    await r.close();
  }
});

test('unknown netns: rate-limited rescan first, counted unattributed only after a rescan missed it', async (t) => {
  // Mocked clock and setTimeout: the rate limit is asserted on simulated time, not on sleeps.
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  let scans = 0;
  let done = 0;
  let extra: ProcScan['pods'] = new Map();
  const scan = async (dir: string): Promise<ProcScan> => {
    scans++;
    const s = await scanProc(dir);
    done++;
    return { ...s, pods: new Map([...s.pods, ...extra]) };
  };
  const pods = fixturePods();
  const r = await PodNetnsResolver.create({ procDir: FIXTURE_PROC, pods, scan, rescanPeriodMs: 0, minRescanIntervalMs: 300, now: () => Date.now() });
  try {
    assert.equal(scans, 1);
    t.mock.timers.tick(1); // the first sighting comes after the initial scan began
    const NEW = 4026539999;
    const POD_NEW = '9a9a9a9a-0000-4000-8000-00000000000e';
    // Many misses inside one interval: one rescan, nothing counted yet.
    for (let i = 0; i < 50; i++) assert.equal(r.resolve(NEW).scope, 'netns');
    assert.equal(r.unattributed(), 0);
    t.mock.timers.tick(298); // 299 ms after the initial scan began
    await settle();
    assert.equal(scans, 1, 'no rescan before the rate limit allows one');
    t.mock.timers.tick(1);
    await waitUntil(() => done === 2);
    assert.equal(scans, 2, 'rate limit: one rescan for many misses');
    // The rescan did not find it: now it counts.
    r.resolve(NEW);
    r.resolve(NEW);
    assert.equal(r.unattributed(), 2);
    // Counted misses do not rescan again (a busy foreign netns must not rescan /proc every interval).
    t.mock.timers.tick(10_000);
    await settle();
    assert.equal(scans, 2);
    // A new pod shows up in the API, its container in that netns: the rescan it triggers attributes it.
    extra = new Map([[NEW, { podUid: POD_NEW, containerIds: new Set(['x']) }]]);
    pods.add(pod(POD_NEW, 'shop', 'cart-new'));
    t.mock.timers.tick(300);
    await waitUntil(() => done === 3);
    assert.deepEqual(r.resolve(NEW), { scope: 'pod', namespace: 'shop', pod: 'cart-new', podUid: POD_NEW });
    assert.equal(r.unattributed(), 2);
  } finally {
    await r.close();
  }
});

/** Lets pending I/O callbacks and promise jobs run (setImmediate is not mocked). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((res) => setImmediate(res));
}

test('null inode counts as unattributed', async () => {
  const r = await PodNetnsResolver.create({ procDir: FIXTURE_PROC, pods: fixturePods(), rescanPeriodMs: 0 });
  try {
    assert.equal(r.resolve(null).scope, 'netns');
    assert.equal(r.unattributed(), 1);
    r.resolve(null, 40);
    assert.equal(r.unattributed(), 41, 'a caller passing the entry count gets packets');
  } finally {
    await r.close();
  }
});

test('pod deletion: listeners get the uid, its netns is no longer attributed', async () => {
  const pods = fixturePods();
  const r = await PodNetnsResolver.create({ procDir: FIXTURE_PROC, pods, rescanPeriodMs: 0 });
  try {
    const deleted: string[] = [];
    const off = r.onPodDeleted((uid) => deleted.push(uid));
    assert.equal(r.resolve(NS_B).scope, 'pod');
    pods.delete(POD_B);
    assert.deepEqual(deleted, [POD_B]);
    assert.equal(r.resolve(NS_B).scope, 'netns');
    assert.equal(r.resolve(NS_A).scope, 'pod', 'other pods unaffected');
    off();
    pods.delete(POD_A);
    assert.deepEqual(deleted, [POD_B], 'unsubscribed listener is not called');
  } finally {
    await r.close();
  }
});

/** Waits for async work (file reads of a scan) without timers, so it works under mocked timers too. */
async function waitUntil(check: () => boolean, rounds = 100_000): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i >= rounds) throw new Error('condition not reached');
    await new Promise<void>((res) => setImmediate(res));
  }
}
