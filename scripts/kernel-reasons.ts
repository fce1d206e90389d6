/**
 * `npm run kernel-reasons -- BTF_FILE LABEL`: prints a kernel's drop-reason table from its raw vmlinux
 * BTF (scripts/kernel-btf.sh extracts it from a vmlinuz): the core reasons of enum skb_drop_reason and
 * the subsystem reasons of the `*_drop_reason` enums built into vmlinux, one `CODE NAME` line each,
 * under a `# LABEL` header. The output is kept as test/fixtures/kernel/reasons-*.txt, so the reason
 * catalog is tested against every kernel of the VM matrix, not only the one running the tests.
 */
import { readFile } from 'node:fs/promises';
import { parseBtfEnums } from '../src/kernel/btf-enums.js';
import { dropReasonNames } from '../src/kernel/btf-reasons.js';
import { decodeSubsystemReasons, isSubsystemEnumName } from '../src/kernel/subsystem-reasons.js';

const [file, label] = process.argv.slice(2);
if (file === undefined || label === undefined) {
  process.stderr.write('usage: npm run kernel-reasons -- BTF_FILE LABEL\n');
  process.exit(2);
}
const enums = parseBtfEnums(await readFile(file), (n) => n === 'skb_drop_reason' || n === 'skb_drop_reason_subsys' || isSubsystemEnumName(n));
const core = dropReasonNames(enums.get('skb_drop_reason') ?? new Map());
const subsys = enums.get('skb_drop_reason_subsys');
const sub = subsys === undefined ? new Map<number, string>() : decodeSubsystemReasons(subsys, enums).reasons;
const lines = [`# ${label}: drop reasons from its vmlinux BTF (scripts/kernel-btf.sh, npm run kernel-reasons)`];
for (const [code, name] of [...core, ...sub].sort((a, b) => a[0] - b[0])) lines.push(`${code} ${name}`);
process.stdout.write(`${lines.join('\n')}\n`);
