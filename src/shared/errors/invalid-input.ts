import { WebInferError } from './base.js';

/**
 * An argument is of the wrong type, shape, size or value (NaN, empty, too large…).
 *
 * @example
 * await model.classify(42 as never); // InvalidInputError: unsupported image input: number
 */
export class InvalidInputError extends WebInferError {
  override name = 'InvalidInputError' as const;
  override readonly code = 'INVALID_INPUT' as const;
  readonly reason: string;
  readonly field?: string;
  constructor(message: string, fields: { reason: string; field?: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = fields.reason;
    if (fields.field !== undefined) this.field = fields.field;
  }
  override get fields(): { reason: string; field?: string } {
    return { reason: this.reason, field: this.field };
  }
}
