import type { WorkerHost } from '../worker-host.js';

/** What a model handle needs from its client. Internal. */
export interface ModelContext {
  readonly host: WorkerHost;
  readonly callTimeoutMs: number;
  /** Largest batch of coalesced classify() calls; 1 = no batching. */
  readonly maxBatch: number;
  /** Called when a handle is disposed, so the client forgets it. */
  readonly forget: (handle: number) => void;
}
