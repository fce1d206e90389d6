/**
 * Every host path kdrop reads. Injectable so each stage runs on fixture trees in unit tests, and so the
 * agent can read a host's /proc mounted elsewhere (e.g. /host/proc in a container).
 */
export interface HostPaths {
  /** procfs root, e.g. /proc or /host/proc. */
  readonly proc: string;
  /** sysfs root, e.g. /sys. */
  readonly sys: string;
  /**
   * sysfs root to read the node's physical NICs from (class/net and devices); default `sys`. A pod outside
   * the host's network namespace sees only its own devices in its /sys: the chart mounts the host's
   * /sys/class/net and /sys/devices under /host/sys and names it here (KDROP_NIC_SYS_PATH).
   */
  readonly nicSys?: string | undefined;
  /** tracefs mount point; when null, discovered from `${proc}/mounts` or the usual places. */
  readonly tracefs: string | null;
  /**
   * Where the kernel probe pins its maps and link (a directory on bpffs); default /sys/fs/bpf/kdrop. The chart
   * mounts only the host's /sys/fs/bpf/kdrop into the agent, at a path it names here (KDROP_PIN_ROOT).
   */
  readonly pinRoot?: string | undefined;
}

export const defaultHostPaths: HostPaths = { proc: '/proc', sys: '/sys', tracefs: null };
