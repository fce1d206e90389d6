/**
 * The benchmark's network namespace: through iproute2 where it exists (`ip netns`), else through
 * util-linux alone (`unshare --net` holding it, `nsenter` to run inside), for lean hosts such as the
 * many-core machine the --scale mode is meant for.
 */
import { spawn } from 'node:child_process';
import { onPath } from './on-path.js';
import { readlinkSync } from 'node:fs';
import { createNetns } from '../../test/helpers/netns.js';

export interface BenchNetns {
  readonly inode: number;
  /** Command prefix that runs argv inside the namespace. */
  readonly prefix: readonly string[];
  /** dropgen must bring loopback up itself (unshare path). */
  readonly loUp: boolean;
  remove(): Promise<void>;
}


const inodeOf = (link: string): number => Number(/net:\[(\d+)\]/.exec(link)?.[1] ?? Number.NaN);

export async function benchNetns(): Promise<BenchNetns> {
  if (onPath('ip')) {
    const ns = await createNetns('kdropbench');
    return { inode: ns.inode, prefix: ['ip', 'netns', 'exec', ns.name], loUp: false, remove: () => ns.remove() };
  }
  const holder = spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' });
  const self = inodeOf(readlinkSync('/proc/self/ns/net'));
  let inode = Number.NaN;
  for (let i = 0; i < 100 && !(inode !== self && Number.isFinite(inode)); i++) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      inode = inodeOf(readlinkSync(`/proc/${holder.pid}/ns/net`));
    } catch {
      /* not yet */
    }
  }
  if (!Number.isFinite(inode) || inode === self) {
    holder.kill('SIGKILL');
    throw new Error('bench: could not create a network namespace with unshare --net');
  }
  return {
    inode,
    prefix: ['nsenter', '-t', String(holder.pid), '-n'],
    loUp: true,
    async remove() {
      holder.kill('SIGKILL');
    },
  };
}
