/** A real Prometheus server (Debian package `prometheus`) on a free loopback port, scraping one target every second. */
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { startChild, type Child } from './processes.js';
import { waitFor } from '../../helpers/netns.js';

export const PROMETHEUS_BIN = process.env['KDROP_PROMETHEUS'] ?? '/usr/bin/prometheus';

export async function prometheusSkipReason(): Promise<string | null> {
  try {
    await access(PROMETHEUS_BIN, constants.X_OK);
    return null;
  } catch {
    return `needs a Prometheus server binary at ${PROMETHEUS_BIN} (Debian: apt-get install prometheus; or set KDROP_PROMETHEUS)`;
  }
}

export interface PrometheusServer {
  readonly url: string;
  readonly child: Child;
  /** Instant query; the numeric value of the first sample, or null when the result is empty. */
  query(promql: string): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startPrometheus(target: string): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-prom-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: kdrop',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const child = startChild('prometheus', [
    PROMETHEUS_BIN,
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await child.stop('SIGTERM', 10_000);
    await rm(dir, { recursive: true, force: true });
  };
  const ready = await waitFor(async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true, 60_000, 200);
  if (!ready) {
    await stop();
    throw new Error(`prometheus did not become ready; output:\n${child.tail()}`);
  }
  return {
    url,
    child,
    stop,
    async query(promql) {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await r.json()) as { status: string; data?: { result?: { value?: [number, string] }[] }; error?: string };
      if (body.status !== 'success') throw new Error(`PromQL ${promql} failed: ${body.error ?? r.status}`);
      const v = body.data?.result?.[0]?.value?.[1];
      return v === undefined ? null : Number(v);
    },
  };
}
