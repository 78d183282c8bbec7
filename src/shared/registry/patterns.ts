/** The lexical rules of registry protocol v1 (no dependencies, so the main-thread bundle stays small). */

/** Model ids: lower-case, URL- and path-safe, no `..`, 1–64 chars. */
export const MODEL_ID_RE = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
/** Semantic versions (2.0.0), no leading `v`, no build metadata. */
export const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;
/** Alias names: `stable`, `latest`, `canary`, `prod-eu`… never a version. */
export const ALIAS_RE = /^[a-z][a-z0-9-]{0,31}$/;
/** Lower-case hex SHA-256. */
export const SHA256_RE = /^[0-9a-f]{64}$/;
/** A file path inside a model: relative, no `..`, no leading `/`, no backslash. */
export const FILE_PATH_RE = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._\/-]{1,200}$/;
/** A registry signing key: `ed25519:` and the base64 of the 32-byte raw public key. */
export const PUBLIC_KEY_RE = /^ed25519:[A-Za-z0-9+/]{43}=$/;
