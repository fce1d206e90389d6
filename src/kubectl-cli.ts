#!/usr/bin/env node
/** Entry point of `kubectl kdrop` (bin kubectl-kdrop): the kdrop CLI whose commands reach the cluster's agents. */
import './node-version.js';
import './runtime-flags.js';

const program = await import('./program.js');
const plugin = await import('./kubectl/plugin-program.js');

await program.main(process.argv, plugin.buildPluginProgram);
