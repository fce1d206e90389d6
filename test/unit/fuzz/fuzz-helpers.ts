/**
 * Shared checks for the parser fuzz tests: a parser may return anything or fail with the coded
 * KdropError, never with another exception; and it finishes in bounded time on large adversarial input.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isKdropError, type ErrorCode } from '../../../src/errors.js';

/** Runs fn; a thrown value must be a KdropError (of one of `codes` when given). Returns the result or the error. */
export function onlyKdropError<T>(fn: () => T, codes?: readonly ErrorCode[]): T | Error {
  try {
    return fn();
  } catch (err) {
    assert.ok(isKdropError(err), `threw something other than a KdropError: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (codes) assert.ok(codes.includes(err.code), `unexpected code ${err.code}: ${err.message}`);
    return err;
  }
}

/**
 * Generous bound for one parser call on input of about 100 KB: quadratic backtracking makes such calls take
 * seconds to minutes, linear parsers take milliseconds, so a 5 s bound separates them even on a loaded machine.
 */
export const LARGE_INPUT_MS = 5000;

export function finishesQuickly(name: string, fn: () => unknown): void {
  const start = performance.now();
  fn();
  const ms = performance.now() - start;
  assert.ok(ms < LARGE_INPUT_MS, `${name} took ${ms.toFixed(0)} ms on large input (bound ${LARGE_INPUT_MS} ms)`);
}

/** Runs of fast-check per property: enough to find shallow crashes, small enough for a 2-core CI box. */
export const RUNS = Number(process.env['KDROP_FUZZ_RUNS'] ?? 2000);

/** Strings that look like lines of the input, mixing its tokens with arbitrary text. */
export function tokenLines(tokens: readonly string[], maxTokens = 12): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...tokens) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom(' ', '\t', '\n', ':', ';', ',', '[', ']', '(', ')', '{', '}', '"', '\\', '\0', '0x', '-', '/') },
    { weight: 1, arbitrary: fc.tuple(fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }), fc.boolean()).map(([n, hex]) => (hex ? n.toString(16) : n.toString())) },
  );
  return fc.array(piece, { maxLength: maxTokens }).map((p) => p.join(''));
}

/** Applies small random edits (delete, duplicate, replace a character) to a valid text. */
export function mutated(valid: string): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.constantFrom('del', 'dup', 'rep', 'ins'), fc.string({ minLength: 1, maxLength: 4 }));
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let s = valid;
    for (const [at, op, text] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (op === 'del') s = s.slice(0, i) + s.slice(i + text.length);
      else if (op === 'dup') s = s.slice(0, i) + s.slice(i, i + 20) + s.slice(i);
      else if (op === 'rep') s = s.slice(0, i) + text + s.slice(i + text.length);
      else s = s.slice(0, i) + text + s.slice(i);
    }
    return s;
  });
}
