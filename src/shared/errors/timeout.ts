import { WebInferError } from './base.js';

/**
 * An operation took longer than its time limit.
 *
 * @example
 * err.timeoutMs; // 120000
 */
export class TimeoutError extends WebInferError {
  override name = 'TimeoutError' as const;
  override readonly code = 'TIMEOUT' as const;
  readonly operation: string;
  readonly timeoutMs: number;
  constructor(message: string, fields: { operation: string; timeoutMs: number }, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = fields.operation;
    this.timeoutMs = fields.timeoutMs;
  }
  override get fields(): { operation: string; timeoutMs: number } {
    return { operation: this.operation, timeoutMs: this.timeoutMs };
  }
}
