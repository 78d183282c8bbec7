/**
 * Bearer tokens of a registry service, kept next to the tree in `{root}/.webinfer/tokens.json`
 * (a dot-directory: never served, neither by the service nor by the shipped nginx config).
 *
 * Only the SHA-256 of each token is stored: tokens are 256 random bits, so a fast hash is enough
 * (no dictionary to protect against) and a leaked file grants nothing. Lookups compare the
 * presented token's hash with every stored hash in constant time (`crypto.timingSafeEqual`).
 *
 * Scopes: `read` (private models), `publish` (blobs, versions, alias moves; implies `read`),
 * `admin` (yank, gc; implies everything).
 *
 * @example
 * const tokens = new TokenStore('.registry');
 * const { token } = await tokens.create('ci', ['publish']);   // 'wi_…' — shown once, stored hashed
 * (await tokens.verify(token))?.name;                         // 'ci'
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { RegistryStore, RegistryStoreError } from './store.js';

/**
 * The token scopes, each including the ones before it: `admin` ⊃ `publish` ⊃ `read`.
 *
 * @example
 * SCOPES.includes('publish');   // true
 */
export const SCOPES = ['read', 'publish', 'admin'] as const;
/**
 * One token scope.
 *
 * @example
 * const scope: Scope = 'admin';
 */
export type Scope = (typeof SCOPES)[number];

/**
 * A stored token: its name, scopes and hash (never the token itself).
 *
 * @example
 * for (const r of await new TokenStore('.registry').list()) console.log(r.name, r.scopes, r.revokedAt ?? 'live');
 */
export interface TokenRecord {
  name: string;
  scopes: Scope[];
  /** Hex SHA-256 of the token. */
  sha256: string;
  createdAt: string;
  revokedAt?: string;
}

interface TokenFile {
  schema: 'webinfer.tokens/v1';
  tokens: TokenRecord[];
}

export const TOKEN_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True when a token holding `scopes` may do what `needed` allows (`admin` ⊃ `publish` ⊃ `read`). */
export function hasScope(scopes: readonly Scope[], needed: Scope): boolean {
  if (scopes.includes('admin')) return true;
  if (needed === 'read') return scopes.includes('read') || scopes.includes('publish');
  return scopes.includes(needed);
}

const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * The bearer tokens of a registry service, stored hashed (SHA-256) in `{root}/.webinfer/tokens.json`.
 *
 * @example
 * const tokens = new TokenStore('.registry');
 * const { token } = await tokens.create('ci', ['publish']);   // 'wi_…', shown once
 * (await tokens.verify(token))?.scopes;                      // ['publish']
 */
export class TokenStore {
  readonly file: string;
  private readonly store: RegistryStore;
  private cache: { mtimeMs: number; size: number; records: TokenRecord[] } | undefined;

  constructor(root: string) {
    this.store = new RegistryStore(root);
    this.file = path.join(this.store.root, '.webinfer', 'tokens.json');
  }

  /** Every token record (hashes only), re-read when the file changed (so CLI changes apply to a running service). */
  async list(): Promise<TokenRecord[]> {
    let st;
    try {
      st = await fs.stat(this.file);
    } catch {
      this.cache = undefined;
      return [];
    }
    if (this.cache && this.cache.mtimeMs === st.mtimeMs && this.cache.size === st.size) return this.cache.records;
    const data = JSON.parse(await fs.readFile(this.file, 'utf8')) as TokenFile;
    if (data.schema !== 'webinfer.tokens/v1' || !Array.isArray(data.tokens)) {
      throw new RegistryStoreError(`${this.file} is not a webinfer token file`, 'INVALID');
    }
    this.cache = { mtimeMs: st.mtimeMs, size: st.size, records: data.tokens };
    return data.tokens;
  }

  /** Creates a token; returns it in clear text (the only time it is visible). */
  async create(name: string, scopes: readonly Scope[]): Promise<{ token: string; record: TokenRecord }> {
    if (!TOKEN_NAME_RE.test(name)) throw new RegistryStoreError(`invalid token name "${name}" (letters, digits, '.', '_', '-')`, 'INVALID');
    if (scopes.length === 0) throw new RegistryStoreError('a token needs at least one scope (read, publish, admin)', 'INVALID');
    for (const s of scopes) {
      if (!(SCOPES as readonly string[]).includes(s)) throw new RegistryStoreError(`unknown scope "${s}" (read, publish, admin)`, 'INVALID');
    }
    const token = `wi_${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = { name, scopes: [...new Set(scopes)], sha256: hashToken(token).toString('hex'), createdAt: new Date().toISOString() };
    await this.store.withLock(async () => {
      const records = await this.list();
      if (records.some((r) => r.name === name && r.revokedAt === undefined)) {
        throw new RegistryStoreError(`a token named "${name}" exists; revoke it first`, 'EXISTS');
      }
      await this.write([...records, record]);
    });
    return { token, record };
  }

  /** Revokes every live token named `name`; returns how many. */
  async revoke(name: string): Promise<number> {
    return this.store.withLock(async () => {
      const now = new Date().toISOString();
      let n = 0;
      const records = (await this.list()).map((r) => {
        if (r.name !== name || r.revokedAt !== undefined) return r;
        n++;
        return { ...r, revokedAt: now };
      });
      if (n === 0) throw new RegistryStoreError(`no live token named "${name}"`, 'NOT_FOUND');
      await this.write(records);
      return n;
    });
  }

  /** The live record of a presented token, or `undefined`. Compares every stored hash in constant time. */
  async verify(token: string): Promise<TokenRecord | undefined> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 512) return undefined;
    const presented = hashToken(token);
    let found: TokenRecord | undefined;
    for (const r of await this.list()) {
      const stored = Buffer.from(r.sha256, 'hex');
      if (stored.length === presented.length && timingSafeEqual(stored, presented) && r.revokedAt === undefined) found = r;
    }
    return found;
  }

  private async write(records: TokenRecord[]): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await this.store.writeJsonAtomic('.webinfer/tokens.json', { schema: 'webinfer.tokens/v1', tokens: records } satisfies TokenFile);
    await fs.chmod(this.file, 0o600);
    this.cache = undefined;
  }
}
