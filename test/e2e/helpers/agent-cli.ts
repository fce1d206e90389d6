/**
 * A stand-in `kdrop` entry with only the agent command, for e2e runs while src/cli.ts does not register
 * it yet (it has an `// AGENT-REGISTER` placeholder). Same global flags, same error printing and exit
 * codes as src/cli.ts; the agent itself is the real one (registerAgentCommand, compose, sources).
 */
import { Command, CommanderError } from 'commander';
import { registerAgentCommand } from '../../../src/commands/agent.js';
import { watchResolver } from '../../../src/commands/watch-resolver.js';
import { logLevel, validate } from '../../../src/config/common.js';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { setLogLevel } from '../../../src/log.js';

const program = new Command('kdrop')
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env KDROP_LOG_LEVEL)')
  .option('--proc <dir>')
  .option('--sys <dir>')
  .option('--tracefs <dir>')
  .hook('preAction', (_this, action) => {
    const level = action.optsWithGlobals<{ logLevel?: string }>().logLevel;
    if (level !== undefined) setLogLevel(validate(logLevel, level, '--log-level'));
  })
  .exitOverride();
registerAgentCommand(program, { createResolver: async (paths) => (await watchResolver(paths, undefined)).resolver });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else if (isKdropError(err)) {
    process.stderr.write(`kdrop: ${err.message} [${err.code}]\n`);
    process.exitCode = err.code === ErrorCodes.CONFIG ? 2 : 1;
  } else {
    process.stderr.write(`kdrop: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
