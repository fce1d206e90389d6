/**
 * Renders the reason catalog (reason-catalog.ts) as docs/reasons.md. `npm run docs:reasons` writes it;
 * a unit test fails when the file is out of date, so the doc never drifts from what `kdrop explain` says.
 */
import { REASON_CLASSES, catalogEntries, catalogFamilies, type ReasonClass, type ReasonInfo } from './reason-catalog.js';

const CLASS_TEXT: Record<ReasonClass, string> = {
  policy: 'something configured to drop did so: netfilter, tc, XDP, BPF, LSM, rp_filter, IPsec policy',
  congestion: 'a queue, buffer or memory limit was hit: socket buffers, backlogs, qdiscs, rings, memory',
  error: 'the packet or the path is wrong: checksums, headers, routes, neighbours, tunnels, no listener',
  benign: 'routine housekeeping: socket close, queue purge, stale TCP segments; hidden by `kdrop watch` unless `--all`',
  unknown: 'the kernel does not say (NOT_SPECIFIED), or kdrop has no notes on the reason (new kernels, `UNKNOWN_<code>`)',
};

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function section(e: ReasonInfo): string {
  return [
    `### ${e.name}`,
    '',
    `Class **${e.class}**${e.subsystem === undefined ? '' : ` (subsystem ${e.subsystem})`}. ${e.meaning}`,
    '',
    `Raised in: ${e.raisedIn}.`,
    '',
    'Check next:',
    '',
    ...e.check.map((c) => `- ${c}`),
    '',
  ].join('\n');
}

export function renderReasonsDoc(): string {
  const entries = catalogEntries();
  const core = entries.filter((e) => e.subsystem === undefined);
  const sub = entries.filter((e) => e.subsystem !== undefined);
  const out: string[] = [
    '# Drop reasons',
    '',
    '<!-- Generated from src/enrich/reason-catalog.ts by `npm run docs:reasons`; do not edit by hand. -->',
    '',
    'What each kernel drop reason means, its class, where the kernel raises it and what to check next.',
    '`kdrop explain REASON|CODE` prints the same notes; the class is exported as `kdrop.reason.class` and',
    'filtered with `kdrop watch --class`. Reason codes are not listed: they differ between kernels, and kdrop',
    'reads them from the running kernel (`kdrop explain CODE` resolves one).',
    '',
    '## Classes',
    '',
    '| class | meaning |',
    '|---|---|',
    ...REASON_CLASSES.map((c) => `| \`${c}\` | ${CLASS_TEXT[c]} |`),
    '',
    'A reason kdrop has no notes on (a newer kernel\'s, `UNKNOWN_<code>`) has class `unknown`.',
    '',
    '## Summary',
    '',
    '| reason | class |',
    '|---|---|',
    ...entries.map((e) => `| [\`${e.name}\`](#${e.name.toLowerCase()}) | ${e.class} |`),
    '',
    '## Subsystem reasons',
    '',
    'Since Linux 6.4 the high 16 bits of a reason code name a subsystem (`enum skb_drop_reason_subsys`),',
    'and each subsystem has its own enum. kdrop reads both from the running kernel\'s BTF (modules too,',
    'e.g. /sys/kernel/btf/openvswitch) and names them as the kernel spells them (`OVS_DROP_LAST_ACTION`).',
    'A code of a known subsystem without a name is `UNKNOWN_<SUBSYSTEM>_<n>`, of an unknown subsystem',
    '`UNKNOWN_SUBSYS<id>_<n>`; the raw code is kept in `reason_code`. Families without per-reason notes:',
    '',
    '| names | subsystem | class | meaning |',
    '|---|---|---|---|',
    ...catalogFamilies().map((f) => `| \`${f.prefix}*\` | ${f.subsystem} | ${f.class} | ${cell(f.meaning)} |`),
    '',
    '## Core reasons',
    '',
    ...core.map(section),
    '## Open vSwitch reasons',
    '',
    ...sub.map(section),
  ];
  return `${out.join('\n').trimEnd()}\n`;
}
