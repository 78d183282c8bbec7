/**
 * Base class of every error webinfer throws. Each subclass has a stable `name`
 * and `code`, typed fields, and an optional `cause`; all of them survive the
 * worker boundary intact (see `serialize.ts`).
 *
 * @example
 * try { await client.load('nope'); }
 * catch (e) { if (isWebInferError(e)) console.log(e.code); } // 'MODEL_NOT_FOUND'
 */
export class WebInferError extends Error {
  override name: string = 'WebInferError';
  readonly code: string = 'WEBINFER_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  /** Typed, structured-clone-safe fields of this error (no message, no cause). */
  get fields(): Record<string, unknown> {
    return {};
  }
}
