import { WebInferError } from './base.js';

/**
 * The inference worker died (uncaught error, out of memory, closed). Every pending call is rejected with this; the next call starts a fresh worker.
 *
 * @example
 * err.reason; // 'worker error event: Uncaught Error: boom'
 */
export class WorkerCrashedError extends WebInferError {
  override name = 'WorkerCrashedError' as const;
  override readonly code = 'WORKER_CRASHED' as const;
  readonly reason: string;
  constructor(message: string, fields: { reason: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = fields.reason;
  }
  override get fields(): { reason: string } {
    return { reason: this.reason };
  }
}
