import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

/**
 * Logging to stderr with a `component` field. Nothing per event is logged above debug.
 * The level comes from KDROP_LOG_LEVEL (or --log-level, which sets it before the first logger is made).
 * The format: JSON lines (the agent, and whenever stderr is not a terminal), or readable text lines for a
 * person at a terminal running watch, doctor, symbolize, top; `--log-format text|json` or
 * KDROP_LOG_FORMAT choose explicitly. For that person the default level is warn (the command's own
 * output is what they asked for) and each record is one line, its message alone (fields only at debug
 * and trace, or as JSON).
 */
let root: Logger | undefined;

export type LogFormat = 'text' | 'json';

export function setLogLevel(level: LevelWithSilent): void {
  rootLogger().level = level;
}

const LEVELS: ReadonlySet<string> = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * The format for this process, decided before any module makes its logger (so from argv and env, not from
 * commander): an explicit --log-format / KDROP_LOG_FORMAT, else text on a terminal unless the command is
 * the agent. An invalid value falls back to JSON here; the CLI reports it as a CONFIG error.
 */
export function logFormatFor(argv: readonly string[], env: NodeJS.ProcessEnv, stderrIsTty: boolean): LogFormat {
  const i = argv.findIndex((a) => a === '--log-format' || a.startsWith('--log-format='));
  const flag = i < 0 ? undefined : argv[i]?.includes('=') ? argv[i]?.slice('--log-format='.length) : argv[i + 1];
  const explicit = flag ?? env['KDROP_LOG_FORMAT'];
  if (explicit !== undefined && explicit !== '') return explicit === 'text' ? 'text' : 'json';
  return stderrIsTty && !argv.slice(2).includes('agent') ? 'text' : 'json';
}

/** The level asked for on the command line or in KDROP_LOG_LEVEL (valid ones only), else undefined. */
function levelAsked(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const i = argv.findIndex((a) => a === '--log-level' || a.startsWith('--log-level='));
  const flag = i < 0 ? undefined : argv[i]?.includes('=') ? argv[i]?.slice('--log-level='.length) : argv[i + 1];
  const asked = flag ?? env['KDROP_LOG_LEVEL'];
  return asked !== undefined && LEVELS.has(asked) ? asked : undefined;
}

/** The default level: warn for a person at a terminal (text), info for the agent and pipes (JSON). */
export function defaultLevel(format: LogFormat): 'warn' | 'info' {
  return format === 'text' ? 'warn' : 'info';
}

function destination(format: LogFormat, detailed: boolean): DestinationStream {
  if (format === 'json') return pino.destination({ fd: 2, sync: true });
  // Loaded only for a person at a terminal: the agent never pays for it. The container image's bundle
  // does not ship it (scripts/bundle.mjs): JSON lines there.
  let pretty: (o: Record<string, unknown>) => DestinationStream;
  try {
    pretty = createRequire(import.meta.url)('pino-pretty') as typeof pretty;
  } catch {
    return pino.destination({ fd: 2, sync: true });
  }
  return pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true && !('NO_COLOR' in process.env),
    ignore: 'pid,hostname,component',
    // One line per record: the fields (pids, paths) only when debugging.
    hideObject: !detailed,
    messageFormat: '{component}: {msg}',
    translateTime: 'SYS:HH:MM:ss',
  });
}

function rootLogger(): Logger {
  // An unknown KDROP_LOG_LEVEL must not throw here (pino does, at the first logger() of any module import):
  // the CLI validates it and reports a CONFIG error.
  const format = logFormatFor(process.argv, process.env, process.stderr.isTTY === true);
  const asked = levelAsked(process.argv, process.env);
  root ??= pino({ level: asked ?? defaultLevel(format), base: { pid: process.pid } }, destination(format, asked === 'debug' || asked === 'trace'));
  return root;
}

export function logger(component: string): Logger {
  return rootLogger().child({ component });
}

export type { Logger };
