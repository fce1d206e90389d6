#!/usr/bin/env node
/**
 * Entry point. Sets the V8 flags first, then loads the program with a dynamic import: a static import
 * graph is parsed (and allocated) before any of its modules runs, so the flags would come too late.
 */
import './node-version.js';
import './runtime-flags.js';

const program = await import('./program.js');
export const buildProgram = program.buildProgram;
export const main = program.main;

await main(process.argv);
