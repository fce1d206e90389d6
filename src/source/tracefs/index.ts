export { TracefsSource, type TracefsSourceOptions } from './tracefs-source.js';
export {
  createInstance,
  removeInstance,
  removeStaleInstances,
  instanceName,
  instancePid,
  pidAlive,
  INSTANCE_PREFIX,
  type InstanceOptions,
  type TracefsInstance,
} from './instance.js';
export {
  parseTraceLine,
  parseRawRecord,
  textContext,
  reasonCodesByName,
  reasonFromText,
  type ParsedDrop,
  type ParsedLost,
  type ParsedOther,
  type TraceLine,
  type TextContext,
} from './parse.js';
export { recordLayout, type RecordLayout, type FieldSlot } from './record-layout.js';
export { parsePageHeader, checkEventHeader, splitPage, type PageLayout, type PageContents } from './ring-page.js';
export { parseCpuStats, lostOf, type CpuStats } from './cpu-stats.js';
export { DropCounter, type CountedDrop } from './drop-counter.js';
export { QdiscReasonJoin, parseQdiscDropRecord, qdiscDropCode, qdiscDropLayout, type QdiscDropLayout, type QdiscDropRecord } from './qdisc-drop.js';
