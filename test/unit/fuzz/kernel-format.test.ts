/**
 * Fuzz: the tracepoint format parser (src/kernel/format.ts), the ring-buffer header parsers, /proc/mounts
 * and the raw BTF enum reader. Generated and mutated input never crashes them (only KdropError) and large
 * adversarial input finishes in bounded time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../../src/errors.js';
import { parseFormat, parseReasonTable } from '../../../src/kernel/format.js';
import { parseMounts, tracefsCandidates } from '../../../src/kernel/tracefs.js';
import { parseBtfEnum } from '../../../src/kernel/btf-enums.js';
import { checkEventHeader, parsePageHeader } from '../../../src/source/tracefs/index.js';
import { finishesQuickly, mutated, onlyKdropError, RUNS, tokenLines } from './fuzz-helpers.js';
import { fixtureText } from './fixtures.js';

const FORMATS = ['kernel/kfree_skb-5.10.format', 'kernel/kfree_skb-5.17.format', 'kernel/kfree_skb-6.18.format'].map(fixtureText);
const FORMAT_TOKENS = ['name: ', 'ID: ', 'format:', '\tfield:', 'unsigned short ', 'void * ', 'location', ';\toffset:', ';\tsize:', ';\tsigned:', '0', '1', '8', '\n', 'print fmt: "', '__print_symbolic(REC->reason, ', '{ 2, "NOT_SPECIFIED" }', '{ 3, "NO_SOCKET" }', ', ', ')', 'REC->location'];

test('format parser: the recorded formats of three kernels still parse (control)', () => {
  for (const text of FORMATS) {
    const f = parseFormat(text);
    assert.ok(f.fields.some((x) => x.name === 'location'));
  }
});

test('format parser: arbitrary text gives a format or FORMAT_PARSE, nothing else', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (text) => {
      onlyKdropError(() => parseFormat(text), [ErrorCodes.FORMAT_PARSE]);
    }),
    { numRuns: RUNS },
  );
});

test('format parser: token soup and mutated real formats give a format or FORMAT_PARSE', () => {
  fc.assert(
    fc.property(fc.array(tokenLines(FORMAT_TOKENS), { maxLength: 20 }), (lines) => {
      onlyKdropError(() => parseFormat(lines.join('\n')), [ErrorCodes.FORMAT_PARSE]);
    }),
    { numRuns: RUNS },
  );
  for (const base of FORMATS) {
    fc.assert(
      fc.property(mutated(base), (text) => {
        const r = onlyKdropError(() => parseFormat(text), [ErrorCodes.FORMAT_PARSE]);
        if (!(r instanceof Error)) {
          // What parses is well-formed: integer offsets/sizes, names that are identifiers.
          for (const f of r.fields) {
            assert.ok(Number.isSafeInteger(f.offset) && Number.isSafeInteger(f.size), JSON.stringify(f));
            assert.match(f.name, /^[A-Za-z_]\w*$/);
          }
          for (const code of r.reasons.keys()) assert.ok(Number.isFinite(code));
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }
});

test('reason table: arbitrary print fmt gives a table or FORMAT_PARSE; codes are finite numbers', () => {
  fc.assert(
    fc.property(tokenLines(['__print_symbolic(REC->reason, ', '{ ', ' }', '"NAME"', '"A\\"B"', '0x1f', '-3', '12', ', ', ')', '('], 30), (pf) => {
      const r = onlyKdropError(() => parseReasonTable(pf), [ErrorCodes.FORMAT_PARSE]);
      if (r instanceof Map) for (const k of r.keys()) assert.ok(Number.isFinite(k));
    }),
    { numRuns: RUNS },
  );
});

test('format parser: ~100 KB adversarial inputs finish in bounded time', () => {
  const n = 100_000;
  const head = 'name: kfree_skb\nID: 1\nformat:\n';
  const cases: string[] = [
    `${head}\tfield:${'a'.repeat(n)}!;\toffset:0;\tsize:8;\tsigned:0;\nprint fmt: "x"\n`,
    `${head}\tfield:${'a '.repeat(n / 2)};\toffset:0;\tsize:8;\tsigned:0;\nprint fmt: "x"\n`,
    `${head}\tfield:x;${' '.repeat(n)}offset:1;\nprint fmt: "x"\n`,
    `${head}print fmt: "x", __print_symbolic(REC->reason, ${'{ 1, "A" }, '.repeat(n / 12)}{ 2`,
    `${head}print fmt: "x", __print_symbolic(REC->reason, ${'{ '.repeat(n / 2)})`,
    `${head}print fmt: "x", __print_symbolic(REC->reason, ${'"'.repeat(n)})`,
    `${head}print fmt: "x", __print_symbolic(REC->reason, ${'('.repeat(n)}`,
    `${'\n'.repeat(n)}`,
  ];
  for (const [i, text] of cases.entries()) finishesQuickly(`format case ${i}`, () => onlyKdropError(() => parseFormat(text), [ErrorCodes.FORMAT_PARSE]));
});

test('ring-buffer header_page / header_event: arbitrary text parses or gives FORMAT_PARSE', () => {
  const page = fixtureText('tracefs/header_page-6.18.txt');
  const event = fixtureText('tracefs/header_event-6.18.txt');
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated(page)), (text) => {
      const r = onlyKdropError(() => parsePageHeader(text), [ErrorCodes.FORMAT_PARSE]);
      if (!(r instanceof Error)) assert.ok(r.commitSize === 4 || r.commitSize === 8);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated(event)), (text) => {
      onlyKdropError(() => checkEventHeader(text), [ErrorCodes.FORMAT_PARSE]);
    }),
    { numRuns: RUNS },
  );
  finishesQuickly('header_page', () => onlyKdropError(() => parsePageHeader(`field: ${'u64 '.repeat(30_000)}x;\toffset:`)));
});

test('/proc/mounts parser: arbitrary text never throws; every entry has 4 fields', () => {
  fc.assert(
    fc.property(fc.array(tokenLines(['tracefs', 'debugfs', '/sys/kernel/tracing', ' ', 'nodev', 'rw', '\\040', '\\', '0 0']), { maxLength: 10 }), (lines) => {
      const mounts = parseMounts(lines.join('\n'));
      for (const m of mounts) assert.equal(typeof m.fsType, 'string');
      assert.ok(Array.isArray(tracefsCandidates(mounts)));
    }),
    { numRuns: RUNS },
  );
});

/** A valid little-endian BTF blob with one enum `name` of the given enumerators. */
function btfBlob(name: string, values: readonly [string, number][]): Uint8Array {
  const strings = ['', name, ...values.map(([n]) => n)];
  const strBytes: number[] = [];
  const offs: number[] = [];
  for (const s of strings) {
    offs.push(strBytes.length);
    strBytes.push(...Buffer.from(s), 0);
  }
  const types = Buffer.alloc(12 + 8 * values.length);
  types.writeUInt32LE(offs[1] ?? 0, 0);
  types.writeUInt32LE((6 << 24) | values.length, 4);
  types.writeUInt32LE(4, 8);
  values.forEach(([, v], i) => {
    types.writeUInt32LE(offs[2 + i] ?? 0, 12 + i * 8);
    types.writeUInt32LE(v >>> 0, 16 + i * 8);
  });
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr.writeUInt8(1, 2);
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(types.length, 12);
  hdr.writeUInt32LE(types.length, 16);
  hdr.writeUInt32LE(strBytes.length, 20);
  return new Uint8Array(Buffer.concat([hdr, types, Buffer.from(strBytes)]));
}

test('BTF enum reader: random bytes and corrupted blobs give a table or FORMAT_PARSE', () => {
  const valid = btfBlob('skb_drop_reason', [['SKB_DROP_REASON_NO_SOCKET', 3], ['SKB_DROP_REASON_NETFILTER_DROP', 12]]);
  assert.deepEqual([...parseBtfEnum(valid, 'skb_drop_reason')], [[3, 'SKB_DROP_REASON_NO_SOCKET'], [12, 'SKB_DROP_REASON_NETFILTER_DROP']]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      onlyKdropError(() => parseBtfEnum(bytes, 'skb_drop_reason'), [ErrorCodes.FORMAT_PARSE]);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = new Uint8Array(valid);
      for (const [at, v] of edits) b[at] = v;
      const r = onlyKdropError(() => parseBtfEnum(b, 'skb_drop_reason'), [ErrorCodes.FORMAT_PARSE]);
      // Bounded output: never more enumerators than the blob has room for.
      if (r instanceof Map) assert.ok(r.size <= b.length / 8);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.nat(valid.length), (len) => {
      onlyKdropError(() => parseBtfEnum(valid.subarray(0, len), 'skb_drop_reason'), [ErrorCodes.FORMAT_PARSE]);
    }),
  );
});

test('split BTF (a module on top of vmlinux): mutated module blobs give subsystem enums or FORMAT_PARSE; any code gets a name', async () => {
  const { buildBtf } = await import('../../helpers/btf.js');
  const { btfBase, parseBtfEnums } = await import('../../../src/kernel/btf-enums.js');
  const { isSubsystemEnumName, unknownReasonName } = await import('../../../src/kernel/subsystem-reasons.js');
  const vmlinux = buildBtf({ enums: [{ name: 'skb_drop_reason_subsys', values: [['SKB_DROP_REASON_SUBSYS_CORE', 0], ['SKB_DROP_REASON_SUBSYS_OPENVSWITCH', 2]] }] });
  const module = buildBtf({ enums: [{ name: 'ovs_drop_reason', values: [['OVS_DROP_LAST_ACTION', 0x20001], ['OVS_DROP_EXPLICIT', 0x20003]] }], base: vmlinux });
  const base = btfBase(vmlinux);
  assert.equal(parseBtfEnums(module, isSubsystemEnumName, base).get('ovs_drop_reason')?.get(0x20001), 'OVS_DROP_LAST_ACTION');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(module.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = new Uint8Array(module);
      for (const [at, v] of edits) b[at] = v;
      onlyKdropError(() => parseBtfEnums(b, isSubsystemEnumName, base), [ErrorCodes.FORMAT_PARSE]);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), (code) => {
      assert.match(unknownReasonName(code, new Map([[2, 'OPENVSWITCH']])), /^UNKNOWN_(?:(?:OPENVSWITCH|SUBSYS\d+)_\d+|-?\d+)$/);
    }),
    { numRuns: RUNS },
  );
});
