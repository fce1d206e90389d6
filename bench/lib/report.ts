import type { Spread } from './stats.js';

export interface ScenarioResult {
  name: string;
  note: string;
  rate: Spread;
  throughputRatio: Spread;
  /** drops per sender CPU second vs baseline: the per-drop cost, robust to the core being taken away */
  cpuThroughputRatio: Spread;
  exactness: Spread;
  lost: Spread;
  cpuPct: Spread;
  postCpuS: Spread;
  rssMiB: Spread;
  /** the monitor's own process (node for kdrop), without its tracer child */
  rootRssMiB: Spread;
  readyS: Spread;
  firstReportS: Spread;
  /** In-kernel ns per event of the monitor's BPF programs (bpf_stats); NaN when not BPF. */
  kernelNs: Spread;
}

function fmt(s: Spread, digits: number): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  const f = (x: number) => x.toFixed(digits);
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

export function renderMarkdown(meta: Record<string, unknown>, results: readonly ScenarioResult[]): string {
  const head = `| scenario | drops/s sent | throughput vs baseline | drops per sender CPU-s vs baseline | counted/sent | lost | monitor CPU % of a core under load | post-processing CPU s | peak RSS MiB (all) | peak RSS MiB (main process) | attach s | first report s | kernel ns/event |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n`;
  const rows = results
    .map((r) => `| ${r.name} | ${fmt({ ...r.rate, median: r.rate.median / 1000, min: r.rate.min / 1000, max: r.rate.max / 1000 }, 0)}k | ${fmt(r.throughputRatio, 3)} | ${fmt(r.cpuThroughputRatio, 3)} | ${fmt(r.exactness, 4)} | ${fmt(r.lost, 0)} | ${fmt(r.cpuPct, 2)} | ${fmt(r.postCpuS, 2)} | ${fmt(r.rssMiB, 1)} | ${fmt(r.rootRssMiB, 1)} | ${fmt(r.readyS, 2)} | ${fmt(r.firstReportS, 2)} | ${fmt(r.kernelNs, 0)} |`)
    .join('\n');
  const skipped = (meta['skipped'] as { name: string; why: string }[]).map((s) => `- skipped ${s.name}: ${s.why}`).join('\n');
  return `## kdrop benchmark\n\n${meta['date']} on ${meta['host']}: kernel ${meta['kernel']}, ${meta['cpus']}, ${meta['bpftrace']}; ${meta['senders']} sender(s), ${meta['seconds']} s of load per run, median of ${meta['repeat']} (min–max); kdrop from the ${meta['cli']}; image ${meta['image']}.\n\n${head}${rows}\n${skipped ? `\n${skipped}\n` : ''}\nScenarios:\n${results.map((r) => `- ${r.name}: ${r.note}`).join('\n')}\n`;
}

/** Two bar charts side by side: throughput vs baseline and monitor CPU, one bar per scenario. */
export function renderSvg(results: readonly ScenarioResult[]): string {
  const w = 900;
  const rowH = 28;
  const h = 60 + rowH * results.length;
  const bar = (x0: number, width: number, y: number, v: number, max: number, label: string, color: string) => {
    const len = Number.isFinite(v) ? Math.max(0, Math.min(1, v / max)) * width : 0;
    return `<rect x="${x0}" y="${y}" width="${len.toFixed(1)}" height="${rowH - 8}" fill="${color}"/><text x="${(x0 + len + 4).toFixed(1)}" y="${y + rowH - 12}" font-size="12">${label}</text>`;
  };
  const maxCpu = Math.max(1, ...results.map((r) => (Number.isFinite(r.cpuPct.median) ? r.cpuPct.median : 0)));
  const rows = results
    .map((r, i) => {
      const y = 40 + i * rowH;
      return `<text x="8" y="${y + rowH - 12}" font-size="12">${r.name}</text>${bar(180, 260, y, r.throughputRatio.median, 1, r.throughputRatio.median.toFixed(3), '#4e79a7')}${bar(560, 260, y, r.cpuPct.median, maxCpu, `${r.cpuPct.median.toFixed(2)} %`, '#f28e2b')}`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="180" y="24" font-size="14">sender throughput vs untraced baseline</text>
<text x="560" y="24" font-size="14">monitor CPU under load (% of a core)</text>
${rows}
</svg>
`;
}
