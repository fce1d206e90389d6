export { CounterReader } from './reader.js';
export { CounterDeltas, counterGrowth } from './deltas.js';
export { parseNetstat, netstatCounters } from './parse-netstat.js';
export { parseNetDev, netDevCounters } from './parse-net-dev.js';
export { parseConntrackStat, conntrackCounters } from './parse-conntrack.js';
export { parseStatisticsValue } from './parse-nic.js';
export * from './types.js';
export { parseQstats, qstatsCounters, type QstatsRead } from './parse-qstats.js';
export { QstatsReader, runQstats, type QstatsStatus } from './qstats.js';
