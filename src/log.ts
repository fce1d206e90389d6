import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * JSON-lines logging to stderr with a `component` field. Nothing per event is logged above debug.
 * The level comes from KDROP_LOG_LEVEL (or --log-level, which sets it before the first logger is made).
 */
let root: Logger | undefined;

export function setLogLevel(level: LevelWithSilent): void {
  rootLogger().level = level;
}

const LEVELS: ReadonlySet<string> = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function rootLogger(): Logger {
  // An unknown KDROP_LOG_LEVEL must not throw here (pino does, at the first logger() of any module import):
  // the CLI validates it and reports a CONFIG error.
  const envLevel = process.env['KDROP_LOG_LEVEL'];
  root ??= pino(
    { level: envLevel !== undefined && LEVELS.has(envLevel) ? envLevel : 'info', base: { pid: process.pid } },
    pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

export function logger(component: string): Logger {
  return rootLogger().child({ component });
}

export type { Logger };
