/**
 * Fuzz: /proc/<pid>/cgroup lines, netns links, and Kubernetes Pod objects with missing or wrongly typed
 * fields (src/enrich/cgroup.ts, proc-scan.ts, pod-cache.ts podInfo).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../../src/errors.js';
import { parseCgroupLine, parseProcCgroup, podFromCgroupPath } from '../../../src/enrich/cgroup.js';
import { parseNetnsLink } from '../../../src/enrich/proc-scan.js';
import { podInfo, type PodObject } from '../../../src/enrich/pod-cache.js';
import { finishesQuickly, mutated, onlyKdropError, RUNS, tokenLines } from './fuzz-helpers.js';

const UID = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
const ID = 'a'.repeat(64);
const CGROUPS = [
  `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${ID}.scope`,
  `12:memory:/kubepods/besteffort/pod${UID}/${ID}`,
  `0::/system.slice/kubepods-pod${UID.replaceAll('-', '_')}.slice:cri-containerd:${ID}`,
  '0::/user.slice/user-0.slice/session-1.scope',
];
const TOKENS = ['0', '12', ':', '::', '/', 'kubepods', '.slice', '-pod', 'pod', UID, UID.replaceAll('-', '_'), ID, 'cri-containerd-', 'crio-', 'docker-', '.scope', 'memory,cpu', '/..', '\n'];

test('cgroup lines: arbitrary, token soup and mutated real lines give a ref, null or ENRICH_PARSE', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), tokenLines(TOKENS, 16), fc.constantFrom(...CGROUPS).chain(mutated)), (text) => {
      const r = onlyKdropError(() => parseProcCgroup(text), [ErrorCodes.ENRICH_PARSE]);
      if (r !== null && !(r instanceof Error)) {
        assert.match(r.podUid, /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/);
        if (r.containerId !== null) assert.match(r.containerId, /^[0-9a-f]{64}$/);
      }
      onlyKdropError(() => parseCgroupLine(text), [ErrorCodes.ENRICH_PARSE]);
      // Paths never throw.
      podFromCgroupPath(text);
    }),
    { numRuns: RUNS * 2 },
  );
});

test('cgroup lines: ~100 KB paths finish in bounded time', () => {
  const n = 100_000;
  for (const [i, t] of [`0::/${'pod'.repeat(n / 3)}`, `0::/${`-pod${UID}`.repeat(n / 40)}x`, `0::/${'/'.repeat(n)}`, `${'1'.repeat(n)}:`, `0::/pod${UID}/${'crio-'.repeat(n / 5)}`].entries()) {
    finishesQuickly(`cgroup case ${i}`, () => onlyKdropError(() => parseProcCgroup(t), [ErrorCodes.ENRICH_PARSE]));
  }
});

test('netns links: arbitrary text gives an inode or ENRICH_PARSE', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^net:\[\d{0,25}\]$/)), (t) => {
      const r = onlyKdropError(() => parseNetnsLink(t), [ErrorCodes.ENRICH_PARSE]);
      if (typeof r === 'number') assert.ok(Number.isFinite(r) && r >= 0);
    }),
    { numRuns: RUNS },
  );
});

const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(null, 0, '', {}, [], true) });
const statusList = maybe(fc.array(maybe(fc.record({ containerID: maybe(fc.constantFrom(`containerd://${ID}`, 'docker://short', `cri-o://${ID}`, '')) }, { requiredKeys: [] })), { maxLength: 3 }));
const podArb = maybe(
  fc.record(
    {
      metadata: maybe(
        fc.record(
          {
            uid: maybe(fc.constantFrom(UID, UID.toUpperCase(), 'x', '')),
            name: maybe(fc.constantFrom('web-0', '')),
            namespace: maybe(fc.constantFrom('default', '')),
            annotations: maybe(fc.dictionary(fc.constantFrom('kubernetes.io/config.mirror', 'a'), maybe(fc.constantFrom('0123456789abcdef0123456789abcdef', '')))),
          },
          { requiredKeys: [] },
        ),
      ),
      spec: maybe(fc.record({ hostNetwork: maybe(fc.boolean()) }, { requiredKeys: [] })),
      status: maybe(fc.record({ containerStatuses: statusList, initContainerStatuses: statusList, ephemeralContainerStatuses: statusList }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  ),
);

test('Pod objects with missing or wrongly typed fields: PodInfo or ENRICH_PARSE, never a TypeError', () => {
  fc.assert(
    fc.property(podArb, (obj) => {
      const r = onlyKdropError(() => podInfo(obj as PodObject), [ErrorCodes.ENRICH_PARSE]);
      if (!(r instanceof Error)) {
        assert.ok(r.uid !== '' && r.name !== '' && r.namespace !== '');
      }
    }),
    { numRuns: RUNS * 2 },
  );
});
