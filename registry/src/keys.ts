/**
 * The registry's Ed25519 signing keys (node:crypto), kept next to the tree in `{root}/.webinfer/keys/` (a
 * dot-directory: never served): `keys.json` lists every key's public half (`ed25519:<base64 raw key>`), name,
 * creation and revocation; `<name>.pem` holds the private key (PKCS#8, mode 0600). Every version published into
 * the root — by `publish --root` or through the service — is signed by each key that is not revoked: the
 * signatures of the manifest's exact bytes go to `versions/{version}.sig.json`, and the model's index lists the
 * keys. A browser client that pins keys (`createClient({ trust: { keys } })`) verifies them with WebCrypto.
 *
 * @example
 * const keys = new KeyStore('.registry');
 * const { key } = await keys.create('release');   // 'ed25519:…' — give it to clients as trust.keys
 * await keys.revoke('release');                   // signs nothing from now on
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { RegistryStoreError } from './store.js';

/** One signing key as listed in `keys.json`. */
export interface KeyRecord {
  name: string;
  /** `ed25519:` and the base64 of the 32-byte raw public key: what clients pin. */
  key: string;
  createdAt: string;
  revokedAt?: string;
}

interface KeyFile {
  schema: 'webinfer.keys/v1';
  keys: KeyRecord[];
}

export const KEY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The raw 32 bytes of an Ed25519 public key object, as `ed25519:<base64>`. */
function publicKeyString(pub: ReturnType<typeof createPublicKey>): string {
  const jwk = pub.export({ format: 'jwk' }) as { x: string };
  return `ed25519:${Buffer.from(jwk.x, 'base64url').toString('base64')}`;
}

/**
 * Checks one Ed25519 signature of `data` by `key` (`ed25519:<base64>`), with node:crypto.
 *
 * @example
 * verifySignature(key, bytes, sig); // true
 */
export function verifySignature(key: string, data: Uint8Array, sigBase64: string): boolean {
  const raw = Buffer.from(key.slice('ed25519:'.length), 'base64');
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return verify(null, data, pub, Buffer.from(sigBase64, 'base64'));
}

/** The signing keys of a registry root. */
export class KeyStore {
  readonly dir: string;
  constructor(root: string) {
    this.dir = path.join(path.resolve(root), '.webinfer', 'keys');
  }

  async #read(): Promise<KeyFile> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.dir, 'keys.json'), 'utf8')) as KeyFile;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return { schema: 'webinfer.keys/v1', keys: [] };
      throw e;
    }
  }

  async #write(file: KeyFile): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.keys.json.${process.pid}.tmp`);
    await fs.writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await fs.rename(tmp, path.join(this.dir, 'keys.json'));
  }

  /** Creates a key pair named `name`; returns its record (the private key stays in the root, never printed). */
  async create(name: string): Promise<KeyRecord> {
    if (!KEY_NAME_RE.test(name)) throw new RegistryStoreError(`invalid key name "${name}" (letters, digits, '.', '_', '-'; 1–64 chars)`, 'INVALID');
    const file = await this.#read();
    if (file.keys.some((k) => k.name === name)) throw new RegistryStoreError(`a key named "${name}" exists (revoked keys keep their name)`, 'EXISTS');
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.writeFile(path.join(this.dir, `${name}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600, flag: 'wx' });
    const record: KeyRecord = { name, key: publicKeyString(publicKey), createdAt: new Date().toISOString() };
    await this.#write({ ...file, keys: [...file.keys, record] });
    return record;
  }

  /** Every key, revoked ones included. */
  async list(): Promise<KeyRecord[]> {
    return (await this.#read()).keys;
  }

  /** Revokes a key: it signs nothing new; its private key file is deleted. Clients should drop it from trust.keys. */
  async revoke(name: string): Promise<KeyRecord> {
    const file = await this.#read();
    const k = file.keys.find((x) => x.name === name);
    if (!k) throw new RegistryStoreError(`no key named "${name}"`, 'NOT_FOUND');
    if (!k.revokedAt) {
      k.revokedAt = new Date().toISOString();
      await this.#write(file);
    }
    await fs.rm(path.join(this.dir, `${name}.pem`), { force: true });
    return k;
  }

  /** The signatures of `data` by every live key (none when the root has no keys). */
  async sign(data: Uint8Array): Promise<Array<{ key: string; sig: string }>> {
    const out: Array<{ key: string; sig: string }> = [];
    for (const k of (await this.#read()).keys) {
      if (k.revokedAt) continue;
      const pem = await fs.readFile(path.join(this.dir, `${k.name}.pem`), 'utf8').catch(() => undefined);
      if (pem === undefined) continue;
      out.push({ key: k.key, sig: sign(null, data, createPrivateKey(pem)).toString('base64') });
    }
    return out;
  }

  /** The keys as the model index lists them (public halves, revocations). */
  async indexEntries(): Promise<Array<{ key: string; revokedAt?: string }>> {
    return (await this.#read()).keys.map((k) => ({ key: k.key, ...(k.revokedAt ? { revokedAt: k.revokedAt } : {}) }));
  }
}
