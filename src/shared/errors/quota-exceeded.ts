import { WebInferError } from './base.js';

/**
 * The browser's storage quota is full; the model was not cached.
 *
 * @example
 * err.bytes; // 8400000
 */
export class QuotaExceededError extends WebInferError {
  override name = 'QuotaExceededError' as const;
  override readonly code = 'QUOTA_EXCEEDED' as const;
  readonly bytes: number;
  constructor(message: string, fields: { bytes: number }, options?: { cause?: unknown }) {
    super(message, options);
    this.bytes = fields.bytes;
  }
  override get fields(): { bytes: number } {
    return { bytes: this.bytes };
  }
}
