import { WebInferError } from './base.js';

/**
 * Why a {@link ManifestError} was raised, when it is one of the trust checks:
 * - `immutable-violated`: the registry now serves different bytes for a version this client saw before
 *   (versions are immutable: a changed one is refused, never used silently);
 * - `integrity-mismatch`: the manifest does not match the `integrity` the load was pinned to;
 * - `unsigned` / `bad-signature` / `untrusted-key`: the client pins trusted keys (`trust.keys`) and the
 *   manifest has no signature, a wrong one, or one by a key it does not trust;
 * - `revoked-key`: the only trusted signatures are by keys the model's index lists as revoked.
 * Other manifest problems (schema, consistency) have no reason (`undefined`).
 */
export type ManifestErrorReason = 'immutable-violated' | 'integrity-mismatch' | 'unsigned' | 'bad-signature' | 'untrusted-key' | 'revoked-key';

/**
 * A registry document or model file failed schema validation or is internally inconsistent,
 * or failed a trust check (`reason`).
 *
 * @example
 * err.issues; // ['task: Invalid type: Expected string but received undefined']
 * err.reason; // 'immutable-violated' — tiny-cnn@1.0.0 changed since this client last loaded it
 */
export class ManifestError extends WebInferError {
  override name = 'ManifestError' as const;
  override readonly code = 'INVALID_MANIFEST' as const;
  readonly url: string;
  readonly issues: string[];
  readonly reason?: ManifestErrorReason;
  constructor(message: string, fields: { url: string; issues: string[]; reason?: ManifestErrorReason | undefined }, options?: { cause?: unknown }) {
    super(message, options);
    this.url = fields.url;
    this.issues = fields.issues;
    if (fields.reason !== undefined) this.reason = fields.reason;
  }
  override get fields(): { url: string; issues: string[]; reason?: ManifestErrorReason } {
    return { url: this.url, issues: this.issues, ...(this.reason !== undefined ? { reason: this.reason } : {}) };
  }
}
