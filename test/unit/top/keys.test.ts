import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialUi, reduceInput, reduceKey, type KeyInfo, type UiState } from '../../../src/top/keys.js';

const ctx = { rowKeys: ['a', 'b', 'c'], pageSize: 2 };
function press(ui: UiState, ...keys: (string | KeyInfo)[]): { ui: UiState; quit: boolean } {
  let r = { ui, quit: false };
  for (const k of keys) r = typeof k === 'string' ? reduceKey(r.ui, k, {}, ctx) : reduceKey(r.ui, '', k, ctx);
  return r;
}

test('q and Ctrl-C quit, also from help, details and filter typing (Ctrl-C)', () => {
  assert.equal(press(initialUi(), 'q').quit, true);
  assert.equal(reduceKey(initialUi(), 'c', { ctrl: true }, ctx).quit, true);
  assert.equal(press(initialUi(), '?', 'q').quit, true);
  assert.equal(reduceKey(press(initialUi(), '/').ui, 'c', { ctrl: true }, ctx).quit, true);
  assert.equal(press(initialUi(), '/', 'q').quit, false, 'q is text while typing a filter');
});

test('g cycles the grouping, G goes back, digits pick one; selection resets', () => {
  const ui = press(initialUi(), { downArrow: true }).ui;
  assert.equal(ui.selected, 1);
  const g = press(ui, 'g').ui;
  assert.deepEqual([g.groupBy, g.selected], ['namespace', 0]);
  assert.equal(press(initialUi(), 'g', 'g', 'g', 'g').ui.groupBy, 'netns');
  assert.equal(press(initialUi(), 'g', 'g', 'g', 'g', 'g').ui.groupBy, 'pod', 'g cycles the groupings of one host');
  assert.equal(press(initialUi(), 'G').ui.groupBy, 'netns');
  assert.equal(press(initialUi(), '6').ui.groupBy, 'node', 'the node grouping (kubectl kdrop top) is key 6');
  assert.equal(press(initialUi('node'), 'g').ui.groupBy, 'pod', 'g leaves the node grouping for the first one');
  assert.equal(press(initialUi(), '3').ui.groupBy, 'reason');
});

test('s toggles the sort', () => {
  assert.equal(press(initialUi(), 's').ui.sortBy, 'total');
  assert.equal(press(initialUi(), 's', 's').ui.sortBy, 'rate');
});

test('arrows, j/k, pages, Home/End stay within the rows', () => {
  const ui = initialUi();
  assert.equal(press(ui, { upArrow: true }).ui.selected, 0);
  assert.equal(press(ui, { downArrow: true }, 'j', 'j', 'j').ui.selected, 2);
  assert.equal(press(ui, { end: true }, 'k').ui.selected, 1);
  assert.equal(press(ui, { pageDown: true }).ui.selected, 2);
  assert.equal(press(ui, { end: true }, { pageUp: true }).ui.selected, 0);
  assert.equal(press(ui, { end: true }, { home: true }).ui.selected, 0);
});

test('/ starts a filter: text, backspace, Enter keeps it, Esc clears it', () => {
  let ui = press(initialUi(), '/', 'w', 'e', 'bx', { backspace: true }).ui;
  assert.deepEqual([ui.filterEditing, ui.filter], [true, 'web']);
  ui = press(ui, { return: true }).ui;
  assert.deepEqual([ui.filterEditing, ui.filter], [false, 'web']);
  assert.equal(press(ui, { escape: true }).ui.filter, '', 'Esc clears a kept filter');
  assert.equal(press(ui, '/', 'x').ui.filter, 'x', '/ starts a new filter');
  ui = press(initialUi(), '/', 'x', { escape: true }).ui;
  assert.deepEqual([ui.filterEditing, ui.filter], [false, '']);
  assert.equal(press(initialUi(), '/', '\u001b[A').ui.filter, '[A', 'control characters are dropped');
});

test('Enter opens the selected row, Esc/Enter/← close; space and p pause; ? toggles help', () => {
  let ui = press(initialUi(), { downArrow: true }, { return: true }).ui;
  assert.equal(ui.detailKey, 'b');
  assert.equal(press(ui, 'g').ui.groupBy, 'pod', 'grouping keys do nothing in details');
  assert.equal(press(ui, { escape: true }).ui.detailKey, null);
  assert.equal(press(ui, { leftArrow: true }).ui.detailKey, null);
  assert.equal(press(ui, { return: true }).ui.detailKey, null);
  ui = press(initialUi(), ' ').ui;
  assert.equal(ui.paused, true);
  assert.equal(press(ui, 'p').ui.paused, false);
  ui = press(initialUi(), '?').ui;
  assert.equal(ui.help, true);
  assert.equal(press(ui, '?').ui.help, false);
  assert.equal(press(ui, { escape: true }).ui.help, false);
  assert.equal(reduceKey(initialUi(), '', { return: true }, { rowKeys: [], pageSize: 1 }).ui.detailKey, null, 'Enter without rows');
});

test('several characters in one read count as key presses one by one (fast typing, tmux, paste)', () => {
  let r = reduceInput(initialUi(), '/web', {}, ctx);
  assert.deepEqual([r.ui.filterEditing, r.ui.filter], [true, 'web']);
  r = reduceInput(r.ui, 'q-x', {}, ctx);
  assert.deepEqual([r.quit, r.ui.filter], [false, 'webq-x'], 'q is text while typing a filter');
  assert.equal(reduceInput(initialUi(), 'gq', {}, ctx).quit, true);
  assert.equal(reduceInput(initialUi(), 'gg', {}, ctx).ui.groupBy, 'reason');
});
