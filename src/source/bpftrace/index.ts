export { BpftraceSource, type BpftraceSourceOptions } from './bpftrace-source.js';
export { toDropKey } from './protocol.js';
export { type RestartPolicy } from './supervisor.js';
export { generateProgram, programKeyFields, protocolIsNetworkOrder, countStatementLine, READY_MARKER, COUNT_MAP, BYTES_MAP, END_MAP, type KeyField, type ProgramOptions } from './program.js';
export { parseBpftraceLine, parseKeyInteger, type BpftraceEvent, type MapEntry } from './parse.js';
export { parseBpftraceVersion, detectBpftrace, dialectForVersion, type BpftraceDialect, type BpftraceVersion } from './version.js';
export { findStaleBpftrace, ownerTag, OWNER_ENV } from './stale.js';
