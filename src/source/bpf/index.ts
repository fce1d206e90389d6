export { BpfSource } from './bpf-source.js';
export { parseProbeLine, LineSplitter, type AttachType } from './protocol.js';
export { pinDirFor, openPinDir } from './pins.js';
export { probePath, isExecutable } from './locate.js';
export { checkProbe, type ProbeCheck } from './check.js';
export type { SampleOptions } from './options.js';
export { PROBE_LIMITS } from './limits.js';
export { releaseEarly } from './early.js';
