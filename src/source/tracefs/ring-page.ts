/**
 * The ring-buffer sub-buffer ("page") format of per_cpu/cpuN/trace_pipe_raw, as described by tracefs
 * `events/header_page` and `events/header_event` (the same format libtraceevent's kbuffer reads):
 *
 *   page:  u64 timestamp | local_t commit | data[...]
 *          commit = bytes of data used; bit 31 = events were lost before this page, bit 30 = the lost
 *          count is stored as an unsigned long right after the data.
 *   event: u32 header {type_len:5, time_delta:27} (low bits first on little-endian) then
 *          type_len 1..28: payload of type_len*4 bytes;  type_len 0: u32 length (incl. itself), payload;
 *          29: padding (time_delta 0: rest of page is empty, else u32 length);  30: time extend (8 bytes);
 *          31: absolute time stamp (8 bytes).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';

export interface PageLayout {
  readonly commitOffset: number;
  readonly commitSize: number;
  readonly dataOffset: number;
}

const MISSED_EVENTS = 1n << 31n;
const MISSED_STORED = 1n << 30n;
const COMMIT_MASK = (1n << 30n) - 1n;

const TYPE_PADDING = 29;
const TYPE_TIME_EXTEND = 30;
const TYPE_TIME_STAMP = 31;

/** Parses the text of events/header_page. */
export function parsePageHeader(text: string): PageLayout {
  const fields = new Map<string, { offset: number; size: number }>();
  for (const m of text.matchAll(/field:\s*[\w ]+?\s(\w+);\s*offset:(\d+);\s*size:(\d+);/g)) {
    const [, name, offset, size] = m;
    if (name !== undefined) fields.set(name, { offset: Number(offset), size: Number(size) });
  }
  const commit = fields.get('commit');
  const data = fields.get('data');
  if (commit === undefined || data === undefined || (commit.size !== 4 && commit.size !== 8)) {
    throw new KdropError(ErrorCodes.FORMAT_PARSE, 'cannot read the ring-buffer page header', {
      expected: 'events/header_page with fields commit (size 4 or 8) and data',
      found: excerpt(text, 200),
    });
  }
  return { commitOffset: commit.offset, commitSize: commit.size, dataOffset: data.offset };
}

/** Checks events/header_event describes the event header this reader knows. */
export function checkEventHeader(text: string): void {
  const known =
    /type_len\s*:\s*5 bits/.test(text) &&
    /time_delta\s*:\s*27 bits/.test(text) &&
    /padding\s*:\s*type == 29/.test(text) &&
    /time_extend\s*:\s*type == 30/.test(text) &&
    /data max type_len\s*==\s*28/.test(text);
  if (!known) {
    throw new KdropError(ErrorCodes.FORMAT_PARSE, 'unknown ring-buffer event header', {
      expected: 'events/header_event with type_len 5 bits, time_delta 27 bits, padding 29, time_extend 30, data max 28',
      found: excerpt(text, 200),
    });
  }
}

export interface PageContents {
  /** Event payloads, in order (views into the page buffer: use them before the buffer is reused). */
  readonly records: Uint8Array[];
  /** Lost-events flag set on this page (the kernel's per-CPU stats count them too). */
  readonly missedEvents: boolean;
  /** The lost count the kernel stored in the page, or null when it did not store one. */
  readonly missedCount: number | null;
  /** Malformed event headers found (the rest of the page is skipped). */
  readonly malformed: number;
}

/** Splits one page read from trace_pipe_raw (`length` bytes valid) into event payloads. */
export function splitPage(page: Uint8Array, length: number, layout: PageLayout, littleEndian: boolean): PageContents {
  const view = new DataView(page.buffer, page.byteOffset, Math.min(length, page.byteLength));
  const records: Uint8Array[] = [];
  if (view.byteLength < layout.dataOffset) return { records, missedEvents: false, missedCount: null, malformed: view.byteLength === 0 ? 0 : 1 };
  const commitRaw =
    layout.commitSize === 8 ? view.getBigUint64(layout.commitOffset, littleEndian) : BigInt(view.getUint32(layout.commitOffset, littleEndian));
  const missedEvents = (commitRaw & MISSED_EVENTS) !== 0n;
  const used = Number(commitRaw & COMMIT_MASK);
  const end = Math.min(layout.dataOffset + used, view.byteLength);
  let missedCount: number | null = null;
  if ((commitRaw & MISSED_STORED) !== 0n && end + layout.commitSize <= view.byteLength) {
    missedCount = Number(layout.commitSize === 8 ? view.getBigUint64(end, littleEndian) : BigInt(view.getUint32(end, littleEndian)));
  }
  let malformed = 0;
  let off = layout.dataOffset;
  while (off + 4 <= end) {
    const header = view.getUint32(off, littleEndian);
    const typeLen = littleEndian ? header & 0x1f : header >>> 27;
    const timeDelta = littleEndian ? header >>> 5 : header & 0x7ffffff;
    if (typeLen === TYPE_PADDING) {
      if (timeDelta === 0 || off + 8 > end) break;
      off += 4 + view.getUint32(off + 4, littleEndian);
      continue;
    }
    if (typeLen === TYPE_TIME_EXTEND || typeLen === TYPE_TIME_STAMP) {
      off += 8;
      continue;
    }
    let start: number;
    let size: number;
    if (typeLen === 0) {
      if (off + 8 > end) {
        malformed++;
        break;
      }
      const total = view.getUint32(off + 4, littleEndian);
      start = off + 8;
      size = total - 4;
    } else {
      start = off + 4;
      size = typeLen * 4;
    }
    if (size <= 0 || start + size > end) {
      malformed++;
      break;
    }
    records.push(page.subarray(start, start + size));
    off = start + ((size + 3) & ~3);
  }
  return { records, missedEvents, missedCount, malformed };
}

/** Reads and checks the ring-buffer format of the tracefs mounted at tracefsDir (TRACEFS_MISSING when unreadable). */
export async function readPageLayout(tracefsDir: string): Promise<PageLayout> {
  const [headerPage, headerEvent] = await Promise.all([
    readFile(join(tracefsDir, 'events', 'header_page'), 'utf8'),
    readFile(join(tracefsDir, 'events', 'header_event'), 'utf8'),
  ]).catch((err: unknown) => {
    throw new KdropError(ErrorCodes.TRACEFS_MISSING, 'cannot read the ring-buffer format from tracefs', {
      expected: `${tracefsDir}/events/header_page and header_event`,
      found: String((err as Error).message),
      hint: 'mount tracefs: mount -t tracefs nodev /sys/kernel/tracing',
      cause: err,
    });
  });
  const layout = parsePageHeader(headerPage);
  checkEventHeader(headerEvent);
  return layout;
}
