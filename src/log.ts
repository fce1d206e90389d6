import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * JSON-lines logging to stderr with a `component` field. Nothing per event is logged above debug.
 * The level comes from KDROP_LOG_LEVEL (or --log-level, which sets it before the first logger is made).
 */
let root: Logger | undefined;

export function setLogLevel(level: LevelWithSilent): void {
  rootLogger().level = level;
}

function rootLogger(): Logger {
  root ??= pino(
    { level: process.env['KDROP_LOG_LEVEL'] ?? 'info', base: { pid: process.pid } },
    pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

export function logger(component: string): Logger {
  return rootLogger().child({ component });
}

export type { Logger };
