/**
 * Attribution without Kubernetes: the root netns is scope host, every other netns scope netns.
 * unattributed() counts resolve() calls for drops whose netns the tracer could not read (inode null): on a host
 * without Kubernetes a netns inode is the finest owner there is, so it counts as attributed.
 */
import type { HostPaths } from '../host-paths.js';
import type { NetnsOwner, NetnsResolver } from './types.js';
import { readHostNetnsInode } from './proc-scan.js';
import { HOST_OWNER, NETNS_OWNER } from './owners.js';

export class HostNetnsResolver implements NetnsResolver {
  private unknown = 0;

  /** hostInode: the root netns inode, or null when unknown (then everything is scope netns). */
  constructor(private readonly hostInode: number | null) {}

  /** Reads the root netns inode from `${paths.proc}/1/ns/net` (or `self`, see readHostNetnsInode). */
  static async create(paths: HostPaths): Promise<HostNetnsResolver> {
    const inode = await readHostNetnsInode(paths.proc);
    return new HostNetnsResolver(inode);
  }

  /** `drops` (default 1): what unattributed() adds for a null inode (pass the entry's count to count packets). */
  resolve(inode: number | null, drops = 1): NetnsOwner {
    if (inode === null) {
      this.unknown += drops;
      return NETNS_OWNER;
    }
    return inode === this.hostInode ? HOST_OWNER : NETNS_OWNER;
  }

  unattributed(): number {
    return this.unknown;
  }

  async close(): Promise<void> {}
}
