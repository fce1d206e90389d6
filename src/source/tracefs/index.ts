export { TracefsSource } from './tracefs-source.js';
export { parseRawRecord } from './parse.js';
export { recordLayout } from './record-layout.js';
export { parsePageHeader, checkEventHeader, splitPage } from './ring-page.js';
export { parseCpuStats } from './cpu-stats.js';
