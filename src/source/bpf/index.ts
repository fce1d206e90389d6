export { BpfSource, type BpfSourceOptions, type ProbeProgramStats } from './bpf-source.js';
export { parseProbeLine, LineSplitter, ATTACH_TYPES, type AttachType, type ProbeEvent } from './protocol.js';
export { DEFAULT_PIN_ROOT, findStalePins, pinDirFor, removePins } from './pins.js';
export { DEFAULT_PROBE_PATH, probePath, isExecutable } from './locate.js';
export { checkProbe, type ProbeCheck } from './check.js';
