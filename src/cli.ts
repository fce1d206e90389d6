#!/usr/bin/env node
/**
 * Entry point. Sets the V8 flags first, starts the kernel probe, then loads the program with a dynamic
 * import: a static import graph is parsed (and allocated) before any of its modules runs, so the flags
 * would come too late.
 */
import './node-version.js';
import './runtime-flags.js';

// The kernel probe first (watch and agent, default case): it loads and attaches in its own process while
// this one loads the program, reads its config and the host's facts (src/source/bpf/prestart.ts).
const prestart = process.argv.slice(2).some((a) => a === 'watch' || a === 'agent') ? await import('./source/bpf/prestart.js') : null;
if (prestart?.prestartWanted(process.argv, process.env)) prestart.prestartProbe();

const program = await import('./program.js');
export const buildProgram = program.buildProgram;
export const main = program.main;

await main(process.argv);
// A command that ended before its source started (a config error, another source chosen): the probe goes.
await prestart?.releaseUnclaimed();
