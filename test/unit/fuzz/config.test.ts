/**
 * Fuzz: durations and the watch configuration (flags > env > defaults). Any input gives a config or ONE
 * KdropError CONFIG that lists every bad field; never another exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../../src/errors.js';
import { parseDurationMs } from '../../../src/config/duration.js';
import { watchConfig, type WatchFlags } from '../../../src/config/watch-config.js';
import { hostPathsFrom } from '../../../src/config/common.js';
import { finishesQuickly, onlyKdropError, RUNS } from './fuzz-helpers.js';

test('durations: arbitrary text is null or a positive whole number of ms', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^ ?\d{0,30}(\.\d{0,5})? ?(ms|s|m|h|d)? ?$/)), (t) => {
      const ms = parseDurationMs(t);
      if (ms !== null) assert.ok(Number.isSafeInteger(ms) && ms > 0, `${JSON.stringify(t)} -> ${ms}`);
    }),
    { numRuns: RUNS },
  );
  finishesQuickly('long duration', () => parseDurationMs(`${'1'.repeat(100_000)}.${'1'.repeat(100_000)}x`));
});

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('5s', '500ms', '1m', '0', '-1', 'nope', 'bpf', 'bpftrace', 'tracefs', 'auto', 'default/web-0', 'NO_SOCKET', '4026531840', '1', ''));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const flagsArb: fc.Arbitrary<WatchFlags> = fc.record(
  {
    interval: opt(text),
    source: opt(text),
    json: opt(fc.boolean()),
    count: opt(text),
    pod: opt(text),
    all: opt(fc.boolean()),
    reason: opt(fc.array(text, { maxLength: 3 })),
    excludeReason: opt(fc.array(text, { maxLength: 3 })),
    class: opt(fc.array(fc.oneof(text, fc.constantFrom('error', 'Policy', 'benign,congestion', 'unknown')), { maxLength: 3 })),
    function: opt(fc.array(text, { maxLength: 3 })),
    netns: opt(fc.array(text, { maxLength: 3 })),
    map: opt(text),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<WatchFlags>;

test('watch config: any flags and env give a config or one CONFIG error naming each bad field', () => {
  fc.assert(
    fc.property(flagsArb, opt(text), opt(text), (flags, envInterval, envSource) => {
      const env: NodeJS.ProcessEnv = {};
      if (envInterval !== undefined) env['KDROP_INTERVAL'] = envInterval;
      if (envSource !== undefined) env['KDROP_SOURCE'] = envSource;
      const r = onlyKdropError(() => watchConfig(flags, env), [ErrorCodes.CONFIG]);
      if (r instanceof Error) {
        const m = /\((\d+) problems?\):\n/.exec(r.message);
        assert.ok(m, r.message);
        assert.equal(r.message.split('\n').length - 1, Number(m[1]), 'one line per problem');
      } else {
        assert.ok(Number.isSafeInteger(r.intervalMs) && r.intervalMs > 0);
        assert.ok(['auto', 'bpf', 'bpftrace', 'tracefs'].includes(r.source));
        for (const n of r.netns) assert.ok(Number.isSafeInteger(n));
        for (const c of r.classes) assert.ok(['policy', 'congestion', 'error', 'benign', 'unknown'].includes(c));
      }
      onlyKdropError(() => hostPathsFrom({ proc: flags.map, sys: flags.source }, { KDROP_TRACEFS_PATH: envSource }), [ErrorCodes.CONFIG]);
    }),
    { numRuns: RUNS },
  );
});

test('agent config: any flags, env and config file give a config or one CONFIG error (one line per problem)', async () => {
  const { agentConfig } = await import('../../../src/agent/config.js');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-fuzz-cfg-'));
  try {
    const file = join(dir, 'agent.json');
    const agentText = fc.oneof(text, fc.constantFrom('0.0.0.0:9464', '[::]:9464', 'off', 'http://127.0.0.1:4318', 'grpc', 'http/protobuf', '+kdrop.netns.inode', '-kdrop.reason', 'default', '2000', '15m'));
    const flags = fc.record(
      {
        interval: opt(agentText),
        metricsAddress: opt(agentText),
        healthAddress: opt(agentText),
        otlpEndpoint: opt(agentText),
        otlpProtocol: opt(agentText),
        labels: opt(fc.array(agentText, { maxLength: 3 })),
        source: opt(agentText),
        seriesLimit: opt(agentText),
        seriesTtl: opt(agentText),
        config: opt(fc.constant(file)),
      },
      { requiredKeys: [] },
    );
    const fileBody = fc.oneof(fc.string({ maxLength: 60 }), fc.json({ maxDepth: 2 }), fc.dictionary(fc.constantFrom('interval', 'labels', 'seriesLimit', 'otlpEndpoint', 'bogus'), fc.jsonValue({ maxDepth: 1 })).map((o) => JSON.stringify(o)));
    const envArb = fc.record({ KDROP_INTERVAL: opt(agentText), OTEL_METRIC_EXPORT_INTERVAL: opt(agentText), OTEL_EXPORTER_OTLP_ENDPOINT: opt(agentText), KDROP_LOG_LEVEL: opt(agentText) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(flags, envArb, fileBody, async (f, env, body) => {
        writeFileSync(file, body);
        try {
          const c = await agentConfig(f as Parameters<typeof agentConfig>[0], env as NodeJS.ProcessEnv);
          assert.ok(Number.isSafeInteger(c.intervalMs) && c.intervalMs > 0);
          assert.ok(Number.isSafeInteger(c.seriesLimit) && c.seriesLimit > 0);
        } catch (err) {
          onlyKdropError(() => {
            throw err;
          }, [ErrorCodes.CONFIG]);
          const m = /\((\d+) problems?\):\n/.exec((err as Error).message);
          assert.ok(m, (err as Error).message);
        }
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
