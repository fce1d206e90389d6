/**
 * What a source hands over, as every stage names it: the key of one counted series (raw kernel values)
 * and the source's health counters.
 */

/** What identifies one counted series at the source. */
export interface DropKey {
  /** The drop location (return address inside the function that freed the skb). */
  readonly address: bigint;
  /** Raw enum skb_drop_reason value, or null when the kernel has no reason field. */
  readonly reasonCode: number | null;
  /** skb->protocol as an ethertype in host order (0x0800 = 2048 for IPv4). */
  readonly protocol: number;
  /** Network namespace inode of the skb's device or socket, or null when unknown. */
  readonly netns: number | null;
}

/** A source's own counters (in every IntervalReport). */
export interface SourceStats {
  /** Events the kernel or tracer reports as lost (ring overruns, map full, helper errors). */
  readonly lostEvents: number;
  /** How often the tracer was restarted after dying. */
  readonly restarts: number;
  /** Lines of tracer output that could not be parsed (each logged at debug). */
  readonly badLines: number;
}
