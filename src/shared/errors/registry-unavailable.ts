import { WebInferError } from './base.js';

/**
 * The registry could not be reached, or kept answering with server errors, after bounded retries, and no cached copy could stand in.
 *
 * @example
 * err.url; // 'http://localhost:8080/v1/models/cats/index.json'
 */
export class RegistryUnavailableError extends WebInferError {
  override name = 'RegistryUnavailableError' as const;
  override readonly code = 'REGISTRY_UNAVAILABLE' as const;
  readonly url: string;
  readonly status?: number;
  constructor(message: string, fields: { url: string; status?: number }, options?: { cause?: unknown }) {
    super(message, options);
    this.url = fields.url;
    if (fields.status !== undefined) this.status = fields.status;
  }
  override get fields(): { url: string; status?: number } {
    return { url: this.url, status: this.status };
  }
}
