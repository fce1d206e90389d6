/** Parses a kernel address given by a user or a tracer. */
import { ErrorCodes, KdropError, excerpt } from '../errors.js';

/** Accepts `0xffffffff8024cd0f` and bare hex `ffffffff8024cd0f` (up to 64 bits). */
export function parseAddress(text: string): bigint {
  const t = text.trim();
  const m = /^(?:0[xX])?([0-9a-fA-F]{1,16})$/.exec(t);
  if (m === null || m[1] === undefined) {
    throw new KdropError(ErrorCodes.BAD_ADDRESS, 'cannot parse address', {
      expected: 'a hexadecimal kernel address of at most 64 bits, like 0xffffffff8024cd0f or ffffffff8024cd0f',
      found: excerpt(text),
    });
  }
  return BigInt(`0x${m[1]}`);
}
