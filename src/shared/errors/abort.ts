import { WebInferError } from './base.js';

/**
 * The caller's AbortSignal fired. Downloads and queued work for that call are stopped.
 *
 * @example
 * const ac = new AbortController(); ac.abort(); await client.load('m', { signal: ac.signal }); // AbortError
 */
export class AbortError extends WebInferError {
  override name = 'AbortError' as const;
  override readonly code = 'ABORTED' as const;
  readonly operation: string;
  constructor(message: string, fields: { operation: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = fields.operation;
  }
  override get fields(): { operation: string } {
    return { operation: this.operation };
  }
}
