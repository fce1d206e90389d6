/** The restart rules both tracer sources share (src/source/restarter.ts), on fake processes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Restarter } from '../../../src/source/restarter.js';
import { ErrorCodes, type KdropError } from '../../../src/errors.js';

interface Fake {
  readonly pid: number;
  readonly startedAt: number;
  readonly done: Promise<string>;
  die(): void;
  stopped: boolean;
}

function fake(pid: number): Fake {
  let die!: (e: string) => void;
  const done = new Promise<string>((r) => {
    die = r;
  });
  return { pid, startedAt: Date.now(), done, die: () => die('killed'), stopped: false };
}

const silent = pino({ level: 'silent' });
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a process that dies is restarted; failed restarts in a row beyond the budget are fatal', async () => {
  const spawned: Fake[] = [];
  let failNext = 0;
  const deaths: string[] = [];
  let fatal: KdropError | null = null;
  const r = new Restarter<Fake, string>({
    what: 'fake',
    log: silent,
    policy: { maxRestarts: 2, initialDelayMs: 5, maxDelayMs: 20 },
    healthyAfterMs: 60_000,
    spawn: async () => {
      if (failNext > 0) {
        failNext--;
        throw new Error('would not start');
      }
      const f = fake(spawned.length + 1);
      spawned.push(f);
      return f;
    },
    stop: async (f) => {
      f.stopped = true;
    },
    onDeath: (f, e) => deaths.push(`${f.pid}:${e}`),
    fatalHint: 'none',
    onFatal: (e) => {
      fatal = e;
    },
  });
  const first = await r.start();
  assert.equal(first?.pid, 1);
  spawned[0]!.die();
  for (let i = 0; i < 100 && r.running?.pid !== 2; i++) await tick(5);
  assert.equal(r.running?.pid, 2, 'restarted');
  assert.equal(r.restarts, 1);
  assert.deepEqual(deaths, ['1:killed']);
  // Two failed restarts are within the budget; the third one in a row is fatal.
  failNext = 3;
  spawned[1]!.die();
  for (let i = 0; i < 200 && fatal === null; i++) await tick(5);
  assert.ok(fatal !== null && (fatal as KdropError).code === ErrorCodes.TRACER_DIED);
  assert.equal(r.state, 'failed');
  assert.equal(r.running, null);
});

test('stop() during a pending restart: nothing is started any more, the last process is stopped', async () => {
  const spawned: Fake[] = [];
  const r = new Restarter<Fake, string>({
    what: 'fake',
    log: silent,
    policy: { maxRestarts: 2, initialDelayMs: 200, maxDelayMs: 200 },
    healthyAfterMs: 60_000,
    spawn: async () => {
      const f = fake(spawned.length + 1);
      spawned.push(f);
      return f;
    },
    stop: async (f) => {
      f.stopped = true;
    },
    onDeath: () => undefined,
    fatalHint: 'none',
    onFatal: () => assert.fail('not fatal'),
  });
  await r.start();
  spawned[0]!.die();
  await tick(10);
  assert.equal(r.state, 'restarting');
  await r.stop();
  await tick(300);
  assert.equal(spawned.length, 1, 'no restart after stop');
  assert.equal(r.state, 'stopped');
});
