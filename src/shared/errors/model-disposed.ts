import { WebInferError } from './base.js';

/**
 * A model handle (or the client) was used after dispose().
 *
 * @example
 * await model.dispose(); await model.classify(img); // ModelDisposedError
 */
export class ModelDisposedError extends WebInferError {
  override name = 'ModelDisposedError' as const;
  override readonly code = 'MODEL_DISPOSED' as const;
  readonly model: string;
  constructor(message: string, fields: { model: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.model = fields.model;
  }
  override get fields(): { model: string } {
    return { model: this.model };
  }
}
