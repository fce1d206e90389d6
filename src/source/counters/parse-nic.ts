/** /sys/class/net/IFACE/statistics/NAME: one unsigned decimal number and a newline. */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';

/** Throws COUNTERS_PARSE on anything but one unsigned decimal. */
export function parseStatisticsValue(text: string, name: string): bigint {
  const t = text.trim();
  if (!/^\d{1,20}$/.test(t)) {
    throw new KdropError(ErrorCodes.COUNTERS_PARSE, `cannot parse statistics/${name}`, { expected: 'one unsigned decimal number', found: excerpt(text) });
  }
  const v = BigInt(t);
  if (v >= 1n << 64n) {
    throw new KdropError(ErrorCodes.COUNTERS_PARSE, `cannot parse statistics/${name}`, { expected: 'a 64-bit value', found: excerpt(text) });
  }
  return v;
}
