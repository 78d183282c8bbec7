import { WebInferError } from './base.js';

/**
 * A backend that was asked for cannot run on this device, or no backend at all could start;
 * also a forced WebGPU backend whose device was lost and could not be replaced (a forced
 * backend never falls back). `createClient()` itself never throws it: the worker starts on the
 * first call, so the first call (or `ready()`) rejects with it.
 *
 * @example
 * const client = createClient({ registry, backend: 'webgpu' });
 * await client.ready(); // rejects: BackendUnavailableError, backend 'webgpu', reason 'navigator.gpu is undefined: …'
 */
export class BackendUnavailableError extends WebInferError {
  override name = 'BackendUnavailableError' as const;
  override readonly code = 'BACKEND_UNAVAILABLE' as const;
  readonly backend: string;
  readonly reason: string;
  constructor(message: string, fields: { backend: string; reason: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.backend = fields.backend;
    this.reason = fields.reason;
  }
  override get fields(): { backend: string; reason: string } {
    return { backend: this.backend, reason: this.reason };
  }
}
