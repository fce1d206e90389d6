/**
 * `kubectl kdrop` (bin kubectl-kdrop): the kdrop CLI as a kubectl plugin. top, watch, trace and doctor
 * reach the cluster's agents through the API server proxy with the user's kubeconfig; explain and
 * symbolize are the local commands. Flags follow kubectl: --kubeconfig, --context, -n, -A.
 */
import { Command } from 'commander';
import { buildProgram } from '../program.js';
import { kubectlConfig, type KubectlFlags } from '../config/kubectl-config.js';
import { topConfig, type TopFlags } from '../config/top-config.js';
import { hostPathsFrom } from '../config/common.js';
import { setLogLevel } from '../log.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function stopSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

const kube = (cmd: Command): KubectlFlags => cmd.optsWithGlobals<KubectlFlags>();

export function buildPluginProgram(): Command {
  // The local program gives the global flags, explain and symbolize; its host commands are replaced.
  const program = buildProgram();
  program.name('kubectl kdrop').description('kdrop for a whole cluster: drops per pod, reason and node from every node agent, through the Kubernetes API server.');
  for (const name of ['top', 'watch', 'trace', 'doctor', 'agent']) {
    const i = program.commands.findIndex((c) => c.name() === name);
    if (i >= 0) (program.commands as Command[]).splice(i, 1);
  }
  program
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option('-n, --namespace <ns>', "namespace of --pod NAME; top: only this namespace's pods")
    .option('-A, --all-namespaces', 'top: every namespace (the default)')
    .option('--agents-namespace <ns>', 'namespace of the kdrop chart (env KDROP_AGENTS_NAMESPACE, default kdrop-system)')
    .option('--concurrency <n>', 'agents asked at once (default 32)')
    .option('--agent-timeout <duration>', 'time each agent has to answer (default 3s)');

  program
    .command('top')
    .description('live view of drops per pod, namespace, reason, function, netns or node, over every agent of the cluster')
    .option('-i, --interval <duration>', 'refresh interval (default 5s, the agents\' interval)')
    .option('-g, --group-by <group>', 'pod|namespace|reason|function|netns|node (default pod)')
    .option('--sort <by>', 'rate|total (default rate)')
    .option('--plain', 'a plain snapshot per refresh even on a terminal (the default when stdout is not one)')
    .option('-c, --count <n>', 'stop after n refreshes (plain output)')
    .action(async (flags: TopFlags, cmd: Command) => {
      const k = kubectlConfig(kube(cmd), process.env);
      const interval = flags.interval ?? (process.env['KDROP_INTERVAL'] ? undefined : '5s');
      const cfg = topConfig({ ...flags, ...(interval === undefined ? {} : { interval }) }, process.env);
      const interactive = !cfg.plain && process.stdout.isTTY === true && process.stdin.isTTY === true;
      if (interactive && cmd.optsWithGlobals<{ logLevel?: string }>().logLevel === undefined) setLogLevel('silent');
      const { KubeApi } = await import('./kube-client.js');
      const { openClusterFeed } = await import('./cluster-feed.js');
      const api = KubeApi.load(k, k.concurrency);
      const namespace = k.allNamespaces ? undefined : k.namespace;
      const { topCommand } = await import('../commands/top-command.js');
      process.exitCode = await topCommand(cfg, hostPathsFrom({}, process.env), { out: process.stdout, signal: stopSignal(), interactive }, {
        openFeed: () => openClusterFeed(api, { agentsNamespace: k.agentsNamespace, namespace, concurrency: k.concurrency, timeoutMs: k.agentTimeoutMs }),
      });
    });

  program
    .command('watch')
    .description("a pod's drops per interval, from the agent on the pod's node (its drops API)")
    .requiredOption('--pod <namespace/name>', 'the pod (NAME alone: in -n or the context namespace)')
    .option('-i, --interval <duration>', 'how often the agent is asked (default 5s)')
    .option('--json', 'NDJSON records instead of text')
    .option('-c, --count <n>', 'stop after n intervals')
    .action(async (flags: { pod: string; interval?: string; json?: boolean; count?: string }, cmd: Command) => {
      const { podWatch } = await import('./pod-commands.js');
      process.exitCode = await podWatch(kubectlConfig(kube(cmd), process.env), flags, process.stdout, stopSignal());
    });

  program
    .command('trace')
    .description("a pod's sampled drops (flows), streamed from the agent on the pod's node (its samples API)")
    .requiredOption('--pod <namespace/name>', 'the pod (NAME alone: in -n or the context namespace)')
    .option('--reason <name>', 'only these reasons (repeatable, comma-separated)', collect)
    .option('--proto <name>', 'only tcp|udp|icmp|icmpv6|<number> (repeatable)', collect)
    .option('--port <n>', 'only flows with this source or destination port (repeatable)', collect)
    .option('--host <addr>', 'only flows with this source or destination address (repeatable)', collect)
    .option('--json', 'NDJSON records instead of text')
    .option('-c, --count <n>', 'stop after n events')
    .action(async (flags: { pod: string; reason?: string[]; proto?: string[]; port?: string[]; host?: string[]; json?: boolean; count?: string }, cmd: Command) => {
      const { podTrace } = await import('./pod-commands.js');
      process.exitCode = await podTrace(kubectlConfig(kube(cmd), process.env), flags, process.stdout, stopSignal());
    });

  program
    .command('doctor')
    .description("a node's agent's doctor report: what its kernel and pod allow")
    .requiredOption('--node <name>', 'the node')
    .option('--json', 'one JSON document')
    .action(async (flags: { node: string; json?: boolean }, cmd: Command) => {
      const { nodeDoctor } = await import('./pod-commands.js');
      process.exitCode = await nodeDoctor(kubectlConfig(kube(cmd), process.env), flags, process.stdout);
    });
  return program;
}
