import { WebInferError } from './base.js';

/**
 * The model, version or alias does not exist in the registry (HTTP 404), or was yanked.
 *
 * @example
 * throw new ModelNotFoundError('model "cats" not found', { model: 'cats' });
 */
export class ModelNotFoundError extends WebInferError {
  override name = 'ModelNotFoundError' as const;
  override readonly code = 'MODEL_NOT_FOUND' as const;
  readonly model: string;
  readonly version?: string;
  constructor(message: string, fields: { model: string; version?: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.model = fields.model;
    if (fields.version !== undefined) this.version = fields.version;
  }
  override get fields(): { model: string; version?: string } {
    return { model: this.model, version: this.version };
  }
}
