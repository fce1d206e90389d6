import { TopModel, type TopModelOptions } from './model.js';
import type { TopInterval, TopStatus } from './types.js';

/**
 * Between the data loop and the screen: feeds intervals into the model (holding them while paused, so
 * a pause freezes the screen without losing counts) and tells the screen when to draw again.
 */
export class TopController {
  readonly model: TopModel;
  private held: TopInterval[] = [];
  private pausedFlag = false;
  private readonly listeners = new Set<() => void>();
  private versionNo = 0;

  constructor(opts: TopModelOptions = {}) {
    this.model = new TopModel(opts);
  }

  push(interval: TopInterval): void {
    if (this.pausedFlag) this.held.push(interval);
    else {
      this.model.ingest(interval);
      this.changed();
    }
  }

  /** A status without a new interval (the agent could not be reached this time). */
  status(patch: Partial<TopStatus>): void {
    this.model.setStatus({ ...this.model.status(), ...patch });
    this.changed();
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  setPaused(paused: boolean): void {
    if (paused === this.pausedFlag) return;
    this.pausedFlag = paused;
    if (!paused) {
      for (const i of this.held) this.model.ingest(i);
      this.held = [];
    }
    this.changed();
  }

  version(): number {
    return this.versionNo;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.versionNo++;
    for (const l of this.listeners) l();
  }
}
