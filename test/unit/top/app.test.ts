/** The interactive app on a fake terminal: keys reach the reducer, new intervals redraw, q exits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createElement as h } from 'react';
import { render } from 'ink';
import { TopApp } from '../../../src/top/app.js';
import { TopController } from '../../../src/top/controller.js';
import { recordedIntervals } from './recorded.js';
import { waitFor } from '../../helpers/netns.js';

class FakeStdout extends EventEmitter {
  readonly isTTY = true;
  frames: string[] = [];
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write(chunk: string, encoding?: unknown, cb?: () => void): boolean {
    this.frames.push(chunk);
    const done = typeof encoding === 'function' ? (encoding as () => void) : cb;
    done?.();
    return true;
  }
  last(): string {
    return this.frames.at(-1) ?? '';
  }
}

class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  private queue: string[] = [];
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
  read(): string | null {
    return this.queue.shift() ?? null;
  }
  press(s: string): void {
    this.queue.push(s);
    this.emit('readable');
    this.emit('data', s);
  }
}

test('keys change the screen, pause holds new intervals, q quits', async () => {
  const controller = new TopController();
  const [i1, i2, i3] = recordedIntervals();
  controller.push(i1!);
  controller.push(i2!);
  const stdout = new FakeStdout(80, 24);
  const stdin = new FakeStdin();
  let quit = 0;
  const app = render(h(TopApp, { controller, groupBy: 'pod', sortBy: 'rate', intervalS: 2, colors: false, onQuit: () => quit++ }), {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const shows = (re: RegExp) => waitFor(() => re.test(stdout.last()), 5000, 10);
  try {
    assert.ok(await shows(/group pod/), stdout.last());
    assert.ok(await shows(/default\/web-0/));
    stdin.press('g');
    assert.ok(await shows(/group namespace/), stdout.last());
    stdin.press('5');
    assert.ok(await shows(/group netns[\s\S]*4026532301 pod default\/web/), stdout.last());
    stdin.press('/');
    stdin.press('2415');
    assert.ok(await shows(/\/2415█/), stdout.last());
    stdin.press('\r');
    assert.ok(await shows(/filter "2415"/));
    assert.doesNotMatch(stdout.last(), /4026532301/);
    assert.match(stdout.last(), /4026532415/);
    stdin.press('\r');
    assert.ok(await shows(/NETNS 4026532415 {2}\(Esc back\)/), stdout.last());
    stdin.press('\u001b');
    assert.ok(await shows(/OWNER/));
    stdin.press(' ');
    assert.ok(await shows(/PAUSED/));
    controller.push(i3!);
    assert.equal(controller.model.intervalCount(), 2, 'held while paused');
    stdin.press('p');
    assert.ok(await shows(/3 intervals/));
    assert.equal(controller.model.intervalCount(), 3);
    stdin.press('q');
    await app.waitUntilExit();
    assert.equal(quit, 1);
  } finally {
    app.unmount();
  }
});
