#!/usr/bin/env node
/**
 * Entry point. Sets the V8 flags first, turns V8's code cache on (compile-cache.ts), starts the kernel probe
 * (watch and agent), then loads the program with a dynamic import: a static import graph is parsed (and
 * allocated) before any of its modules runs, so the flags would come too late, and the probe could not load
 * and attach while the program loads.
 */
import './node-version.js';
import './runtime-flags.js';
import './compile-cache.js';

// The kernel probe first (src/source/bpf/early.ts): on its locked pin directory, in its own process, while
// this one loads the program, reads its configuration and the host's facts; the BpfSource adopts it.
const early = process.argv.includes('watch') || process.argv.includes('agent') ? await import('./source/bpf/early.js') : null;
const pinRoot = early?.earlyStartWanted(process.argv, process.env) ?? null;
// Awaited until spawned (a few ms of file system calls): the program's loading would otherwise delay it.
if (pinRoot !== null) await early?.startEarly(pinRoot);

const program = await import('./program.js');
export const buildProgram = program.buildProgram;
export const main = program.main;

await main(process.argv);
// A command that ended before its source started (a configuration error, another source): the probe goes.
await early?.releaseEarly();
