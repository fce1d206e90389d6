import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isKdropError } from '../../../src/errors.js';
import { parseProcCgroup } from '../../../src/enrich/cgroup.js';

const hexChars = fc.constantFrom(...'0123456789abcdef'.split(''));
const hexString = (n: number) => fc.array(hexChars, { minLength: n, maxLength: n }).map((a) => a.join(''));
const uid = fc.tuple(hexString(8), hexString(4), hexString(4), hexString(4), hexString(12)).map((p) => p.join('-'));
const cid = hexString(64);
const qos = fc.constantFrom('', 'burstable', 'besteffort');

/** Every kubelet/runtime naming scheme: (uid, id, qos) -> cgroup path. */
const styles: ReadonlyArray<(u: string, id: string, q: string) => string> = [
  (u, id, q) => {
    const us = u.replaceAll('-', '_');
    const slice = q === '' ? `kubepods-pod${us}.slice` : `kubepods-${q}.slice/kubepods-${q}-pod${us}.slice`;
    return `/kubepods.slice/${slice}/cri-containerd-${id}.scope`;
  },
  (u, id, q) => {
    const us = u.replaceAll('-', '_');
    const slice = q === '' ? `kubepods-pod${us}.slice` : `kubepods-${q}.slice/kubepods-${q}-pod${us}.slice`;
    return `/kubepods.slice/${slice}/crio-${id}.scope`;
  },
  (u, id, q) => {
    const us = u.replaceAll('-', '_');
    const slice = q === '' ? `kubepods-pod${us}.slice` : `kubepods-${q}.slice/kubepods-${q}-pod${us}.slice`;
    return `/kubepods.slice/${slice}/docker-${id}.scope`;
  },
  (u, id, q) => `/kubepods${q === '' ? '' : `/${q}`}/pod${u}/${id}`,
  (u, id, q) => `/kubepods${q === '' ? '' : `/${q}`}/pod${u}/crio-${id}`,
];

test('property: every naming scheme gives back the pod UID and container ID, in v1 and v2 lines', () => {
  fc.assert(
    fc.property(uid, cid, qos, fc.integer({ min: 0, max: styles.length - 1 }), fc.boolean(), (u, id, q, style, v1) => {
      const path = styles[style]!(u, id, q);
      const line = v1 ? `7:memory:${path}` : `0::${path}`;
      const ref = parseProcCgroup(`${line}\n`);
      assert.equal(ref?.podUid, u);
      assert.equal(ref?.containerId, id);
    }),
    { numRuns: 300 },
  );
});

test('property: arbitrary text never throws anything but ENRICH_PARSE', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        parseProcCgroup(text);
      } catch (err) {
        assert.ok(isKdropError(err, 'KDROP_E_ENRICH_PARSE'), String(err));
      }
    }),
    { numRuns: 500 },
  );
});
