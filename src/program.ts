/** The kdrop command line: commands, flags and the error -> exit code mapping (entry: cli.ts). */
import { Command, CommanderError } from 'commander';
import { isKdropError, ErrorCodes } from './errors.js';
import { packageVersion } from './package-root.js';
import { setLogLevel } from './log.js';
import { hostPathsFrom, logFormat, logLevel, validate } from './config/common.js';
import { watchConfig, type WatchFlags } from './config/watch-config.js';
import { registerAgentCommand } from './commands/agent.js';
import { topConfig, type TopFlags } from './config/top-config.js';
import { traceConfig, type TraceFlags } from './config/trace-config.js';


const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface GlobalFlags {
  logLevel?: string;
  logFormat?: string;
  proc?: string;
  sys?: string;
  nicSys?: string;
  tracefs?: string;
  pinRoot?: string;
}

function globals(cmd: Command): GlobalFlags {
  return cmd.optsWithGlobals<GlobalFlags>();
}

/**
 * Ctrl-C, SIGTERM and SIGHUP (a closed terminal) abort the returned signal: the command stops cleanly and
 * reports what was counted; a second one exits at once.
 */
function stopSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : sig === 'SIGHUP' ? 129 : 143);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  return ac.signal;
}

export function buildProgram(): Command {
  const program = new Command('kdrop')
    .description('Where, why and for which pod the Linux kernel drops packets (skb:kfree_skb).')
    .version(packageVersion())
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env KDROP_LOG_LEVEL)')
    .option('--log-format <format>', 'text|json (env KDROP_LOG_FORMAT; default: text on a terminal, JSON otherwise and for the agent)')
    .option('--proc <dir>', 'procfs root to read (env KDROP_PROC_PATH, default /proc)')
    .option('--sys <dir>', 'sysfs root to read (env KDROP_SYS_PATH, default /sys)')
    .option('--nic-sys <dir>', "sysfs root for the node's NICs (env KDROP_NIC_SYS_PATH, default: --sys)")
    .option('--tracefs <dir>', 'tracefs mount (env KDROP_TRACEFS_PATH, default: discovered)')
    .option('--pin-root <dir>', "bpffs directory where the kernel probe pins its maps (env KDROP_PIN_ROOT, default /sys/fs/bpf/kdrop)")
    .hook('preAction', (_this, action) => {
      const format = globals(action).logFormat ?? process.env['KDROP_LOG_FORMAT'];
      if (format !== undefined && format !== '') validate(logFormat, format, globals(action).logFormat === undefined ? 'KDROP_LOG_FORMAT' : '--log-format');
      const level = globals(action).logLevel;
      const envLevel = process.env['KDROP_LOG_LEVEL'];
      if (level !== undefined) setLogLevel(validate(logLevel, level, '--log-level'));
      // (the agent validates KDROP_LOG_LEVEL with the rest of its configuration)
      else if (envLevel !== undefined && envLevel !== '' && action.name() !== 'agent') setLogLevel(validate(logLevel, envLevel, 'KDROP_LOG_LEVEL'));
    });

  program
    .command('watch')
    .description('print drops per location, reason and network namespace every interval')
    .option('-i, --interval <duration>', 'interval, e.g. 5s, 500ms (env KDROP_INTERVAL)', undefined)
    .option('-s, --source <name>', 'auto|bpf|bpftrace|tracefs (env KDROP_SOURCE)')
    .option('--json', 'NDJSON records instead of text')
    .option('-c, --count <n>', 'stop after n intervals')
    .option('--pod <namespace/name>', "only this pod's drops (needs Kubernetes API access)")
    .option('--reason <name>', 'only these reasons (repeatable, comma-separated)', collect)
    .option('--exclude-reason <name>', 'hide these reasons (repeatable, comma-separated)', collect)
    .option('--class <class>', 'only these reason classes: policy|congestion|error|benign|unknown (repeatable, comma-separated)', collect)
    .option('--function <name>', 'only drops in these kernel functions (repeatable)', collect)
    .option('--netns <inode>', 'only these network namespaces (repeatable)', collect)
    .option('-a, --all', 'also show routine drops (class benign: SOCKET_CLOSE, QUEUE_PURGE, ...) hidden by default')
    .option('--map <file>', 'symbolize with this System.map instead of /proc/kallsyms')
    .option('--flows', 'under each line, the latest example flows of that key (sampled in the kernel; bpf source)')
    .option('--sample-rate <n>', 'with --flows: samples per second per key (env KDROP_SAMPLE_RATE, default 1)')
    .option('--sample-burst <n>', 'with --flows: samples a key may send at once (env KDROP_SAMPLE_BURST, default 3)')
    .option('--sample-max-per-s <n>', 'with --flows: samples per second over all keys (env KDROP_SAMPLE_MAX_PER_S, default 1000)')
    .option('--no-counters', 'do not read the kernel drop counters kfree_skb never sees (listen overflows, interface, NIC and conntrack drops; env KDROP_COUNTERS=false)')
    .action(async (flags: WatchFlags, cmd: Command) => {
      const cfg = watchConfig(flags, process.env);
      const paths = hostPathsFrom(globals(cmd), process.env);
      const signal = stopSignal();
      process.exitCode = await (await import('./commands/watch-command.js')).watchCommand(cfg, paths, signal);
    });

  program
    .command('trace')
    .description('a stream of sampled drops (rate-limited per key in the kernel): time, pod or netns, reason, function, flow, interface')
    .option('-s, --source <name>', 'auto|bpf: samples need the bpf source (env KDROP_SOURCE)')
    .option('--json', 'NDJSON records instead of text')
    .option('--stack', 'the symbolized kernel stack under each event')
    .option('-c, --count <n>', 'stop after n events')
    .option('--pod <namespace/name>', "only this pod's drops (needs Kubernetes API access)")
    .option('--reason <name>', 'only these reasons (repeatable, comma-separated)', collect)
    .option('--function <name>', 'only drops in these kernel functions (repeatable)', collect)
    .option('--netns <inode>', 'only these network namespaces (repeatable)', collect)
    .option('--proto <name>', 'only tcp|udp|icmp|icmpv6|<number> (repeatable)', collect)
    .option('--port <n>', 'only flows with this source or destination port (repeatable)', collect)
    .option('--host <addr>', 'only flows with this source or destination address (repeatable)', collect)
    .option('-a, --all', 'also show routine drops (class benign) hidden by default')
    .option('--sample-rate <n>', 'samples per second per key (env KDROP_SAMPLE_RATE, default 1)')
    .option('--sample-burst <n>', 'samples a key may send at once (env KDROP_SAMPLE_BURST, default 3)')
    .option('--sample-max-per-s <n>', 'samples per second over all keys (env KDROP_SAMPLE_MAX_PER_S, default 1000)')
    .option('--map <file>', 'symbolize with this System.map instead of /proc/kallsyms')
    .action(async (flags: TraceFlags, cmd: Command) => {
      const cfg = traceConfig(flags, process.env);
      const paths = hostPathsFrom(globals(cmd), process.env);
      process.exitCode = await (await import('./commands/trace-command.js')).traceCommand(cfg, paths, process.stdout, stopSignal());
    });

  program
    .command('top')
    .description('live view of drops per pod, namespace, reason, function or netns (this host, or an agent with --agent)')
    .option('-i, --interval <duration>', 'refresh interval, e.g. 2s, 500ms (env KDROP_INTERVAL, default 2s)')
    .option('-g, --group-by <group>', 'pod|namespace|reason|function|netns (default pod; the g key cycles)')
    .option('--sort <by>', 'rate|total (default rate; the s key toggles)')
    .option('--agent <url>', "read a running agent's API (its metrics address, e.g. http://127.0.0.1:9464) instead of this host's kernel")
    .option('-s, --source <name>', 'auto|bpf|bpftrace|tracefs, without --agent (env KDROP_SOURCE)')
    .option('--map <file>', 'symbolize with this System.map instead of /proc/kallsyms')
    .option('--plain', 'print a plain snapshot per interval even on a terminal (the default when stdout is not one)')
    .option('-c, --count <n>', 'stop after n intervals (plain output)')
    .option('--no-counters', 'do not read (or, with --agent, show) the kernel drop counters beside the drops (env KDROP_COUNTERS=false)')
    .action(async (flags: TopFlags, cmd: Command) => {
      const cfg = topConfig(flags, process.env);
      const paths = hostPathsFrom(globals(cmd), process.env);
      const interactive = !cfg.plain && process.stdout.isTTY === true && process.stdin.isTTY === true;
      // Log lines on stderr would draw over the full-screen view: only --log-level turns them on there.
      if (interactive && globals(cmd).logLevel === undefined) setLogLevel('silent');
      // A closed terminal (SIGHUP) stops top cleanly too (stopSignal): the tracer must not outlive it.
      const signal = stopSignal();
      process.exitCode = await (await import('./commands/top-command.js')).topCommand(cfg, paths, { out: process.stdout, signal, interactive });
    });

  program
    .command('doctor')
    .description('check every prerequisite on this node and say how to fix what is missing')
    .option('--json', 'one JSON document')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const paths = hostPathsFrom(globals(cmd), process.env);
      process.exitCode = await (await import('./commands/doctor.js')).runDoctor({ paths, out: process.stdout, json: flags.json ?? false });
    });

  program
    .command('symbolize')
    .description('address -> function+offset/size [module] from /proc/kallsyms or a System.map')
    .option('--map <file>', 'System.map file to use instead of /proc/kallsyms')
    .argument('<address...>', 'kernel addresses, e.g. 0xffffffff8024cd0f')
    .action(async (addresses: string[], flags: { map?: string }, cmd: Command) => {
      const paths = hostPathsFrom(globals(cmd), process.env);
      process.exitCode = await (await import('./commands/symbolize.js')).runSymbolize({ map: flags.map, addresses, paths, out: process.stdout, err: process.stderr });
    });

  program
    .command('explain')
    .description('what a drop reason means, its class, where the kernel raises it and what to check next')
    .argument('<reason>', 'a reason name (NO_SOCKET, skb_drop_reason_no_socket) or a code of the running kernel (3, 0x30001)')
    .option('--json', 'one JSON document')
    .action(async (reason: string, flags: { json?: boolean }, cmd: Command) => {
      const paths = hostPathsFrom(globals(cmd), process.env);
      process.exitCode = await (await import('./commands/explain.js')).runExplain({ query: reason, json: flags.json ?? false, paths, out: process.stdout });
    });

  // Pods when the Kubernetes API is reachable (same choice as watch), host/netns attribution otherwise. The
  // agent does not wait for the first pod list: it counts from the start and names pods once the list arrives.
  registerAgentCommand(program, {
    createResolver: async (paths) => (await (await import('./resolver.js')).watchResolver(paths, undefined, process.env, 0)).resolver,
  });
  return program;
}

export async function main(argv: readonly string[], build: () => Command = buildProgram): Promise<void> {
  const program = build().exitOverride();
  // Subcommands were made before exitOverride(): without their own, commander exits 1 on their errors.
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message; a usage error (unknown option or command, missing argument)
      // exits 2 like every other configuration error. --help and --version exit 0.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isKdropError(err)) {
      process.stderr.write(`kdrop: ${err.message} [${err.code}]\n`);
      // Usage errors (a bad flag, an unknown reason for explain) exit 2, failures 1.
      process.exitCode = err.code === ErrorCodes.CONFIG || err.code === ErrorCodes.UNKNOWN_REASON ? 2 : 1;
      return;
    }
    process.stderr.write(`kdrop: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}

