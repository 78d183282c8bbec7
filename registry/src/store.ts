/**
 * A registry (protocol v1) kept in a directory on the local filesystem: the
 * same tree a static web server or CDN serves. Node only.
 *
 * Writers follow the protocol's rules (see `docs/registry-protocol.md`):
 * - every file appears atomically (temp file in the same directory, fsync, rename);
 * - manifests and blobs are immutable: a manifest is created exclusively
 *   (`link(tmp, final)` fails when it exists) and a blob is only ever written
 *   under the hash of its bytes;
 * - the mutable documents (`index.json`, `models.json`) are read-modify-written
 *   under a lock file, `{root}/.lock`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ALIAS_RE, Catalog, check, Manifest, ModelIndex, MODEL_ID_RE, SEMVER_RE, SHA256_RE, type Checked } from 'webinfer/protocol';
import { paths } from 'webinfer/protocol';
import { OWNER, ownerState } from './owner.js';

/**
 * The stable codes of {@link RegistryStoreError}: one set for every registry implementation
 * (a local root, the HTTP service, a static host), so that callers and tests branch on the code,
 * never on where the registry lives.
 *
 * @example
 * try { await registry.promote('tiny-cnn', 'stable', '1.1.0', { ifMatch: etag }); }
 * catch (e) { if (e instanceof RegistryStoreError && e.code === 'PRECONDITION') console.log('changed meanwhile: re-read and retry'); }
 */
export type RegistryErrorCode =
  /** The version (or document) already exists; versions are immutable. */
  | 'EXISTS'
  /** A malformed name (id, version, alias, hash), document or argument. */
  | 'INVALID'
  /** Another writer holds the registry lock. */
  | 'LOCKED'
  /** No such model, version, alias or blob. */
  | 'NOT_FOUND'
  /** The change contradicts the registry's state (yank of an alias target, nothing to roll back to, task change…). */
  | 'CONFLICT'
  /** A manifest references blobs the registry does not have. */
  | 'MISSING_BLOBS'
  /** Uploaded bytes do not hash to the announced SHA-256. */
  | 'HASH_MISMATCH'
  /** An upload is larger than allowed. */
  | 'TOO_LARGE'
  /** An upload stalled (no byte for too long). */
  | 'TIMEOUT'
  /** An optimistic-concurrency check failed (the document changed meanwhile). */
  | 'PRECONDITION'
  /** The service wants a (valid) bearer token. */
  | 'UNAUTHORIZED'
  /** The bearer token lacks the scope the operation needs. */
  | 'FORBIDDEN'
  /** The registry cannot be reached (network failure, 5xx). */
  | 'UNREACHABLE'
  /** The host serves the tree but takes no writes (a static web server, object store or CDN). */
  | 'READ_ONLY';

/**
 * The former name of {@link RegistryErrorCode}.
 *
 * @example
 * const code: RegistryStoreErrorCode = 'NOT_FOUND';
 */
export type RegistryStoreErrorCode = RegistryErrorCode;

/**
 * Options of {@link RegistryStore.putBlobStream}.
 *
 * @example
 * await store.putBlobStream(request.body, { expectedSha256: hash, maxBytes: 4 * 1024 ** 3, stallMs: 30_000 });
 */
export interface PutBlobOptions {
  /** The hash the bytes must have; a mismatch (`HASH_MISMATCH`) stores nothing. */
  expectedSha256?: string;
  /** The size the bytes must have (e.g. Content-Length). */
  expectedSize?: number;
  /** Refuse (`TOO_LARGE`) beyond this many bytes. */
  maxBytes?: number;
  /** Refuse (`TIMEOUT`) when no chunk arrives for this long (ms). */
  stallMs?: number;
  /** Called (and awaited) after every chunk is written, with the bytes so far. */
  onChunk?: (loaded: number) => void | Promise<void>;
}

/**
 * Options of `putBlobFile` — the same on {@link RegistryStore} and on every writable `Registry`.
 *
 * @example
 * await store.putBlobFile('model/group1-shard1of1.bin', { sha256: expected, onProgress: (n) => console.log(n) });
 */
export interface PutBlobFileOptions {
  /** The hash the file must have; a mismatch stores nothing (`HASH_MISMATCH`). Remote: computed from the file when omitted. */
  sha256?: string;
  /** The size the file must have; a mismatch stores nothing (`INVALID`). */
  size?: number;
  /** Called (and awaited) as bytes are stored or sent, with the bytes so far. */
  onProgress?: (loaded: number) => void | Promise<void>;
}

/**
 * A stored blob: its SHA-256 (its name) and its size.
 *
 * @example
 * const ref: BlobRef = await store.putBlobFile('weights.bin');   // { sha256: '2cf2…', size: 5 }
 */
export interface BlobRef {
  sha256: string;
  size: number;
}

/**
 * The error of every registry operation, local or remote, with a stable {@link RegistryErrorCode}.
 * Errors of the HTTP client are the subclass `RemoteError` (which adds the HTTP status).
 *
 * @example
 * throw new RegistryStoreError('model "cats" not found', 'NOT_FOUND');
 */
export class RegistryStoreError extends Error {
  override name = 'RegistryStoreError';
  constructor(
    message: string,
    readonly code: RegistryErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * How a writer waits for the registry lock (`{root}/.lock`).
 *
 * @example
 * await store.withLock(async () => store.writeJsonAtomic('v1/models.json', catalog), { timeoutMs: 2000, staleMs: 60_000 });
 */
export interface LockOptions {
  /** How long to keep retrying to get the lock (ms). Default 10 000. */
  timeoutMs?: number;
  /**
   * A lock file not renewed for this long is considered abandoned and removed (ms). Default 60 000. A holder
   * renews its lock (touches it) every third of this, so only a dead holder's lock grows this old. A lock
   * whose holder is a dead process of this machine is taken over at once, whatever its age.
   */
  staleMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const isErrno = (e: unknown, code: string): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;

/** A temp file next to its final name, named after its owner (see `owner.ts`: gc leaves a live owner's files alone). */
function tmpName(dir: string, base: string): string {
  return path.join(dir, `.tmp-${base}-${OWNER}-${randomBytes(6).toString('hex')}`);
}

/** fsyncs a directory so a rename/link in it survives a crash (best effort: not every platform allows it). */
async function syncDir(dir: string): Promise<void> {
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(dir, 'r');
    await h.sync();
  } catch {
    // Windows cannot open directories; the rename is still atomic.
  } finally {
    await h?.close().catch(() => undefined);
  }
}

/** Writes `data` to a new temp file next to `final` and fsyncs it; returns the temp path. */
async function writeTemp(final: string, data: string | Uint8Array): Promise<string> {
  const dir = path.dirname(final);
  await fs.mkdir(dir, { recursive: true });
  const tmp = tmpName(dir, path.basename(final));
  const h = await fs.open(tmp, 'wx', 0o644);
  try {
    await h.writeFile(data);
    await h.sync();
  } catch (e) {
    await h.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await h.close();
  return tmp;
}

/** The canonical serialisation of registry documents (stable, 2-space indented, trailing newline). */
export function toJsonText(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * The strong ETag of a document's bytes (the same in every process and on every restart).
 *
 * @example
 * etagOf(new TextEncoder().encode('{}\n'));   // '"…32 hex digits…"'
 */
export function etagOf(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`;
}

/** Hex SHA-256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A filesystem registry rooted at `root`: atomic document writes, content-addressed blobs, the lock.
 * `LocalRegistry` is the `Registry` on top of it.
 *
 * @example
 * const store = new RegistryStore('.registry');
 * await store.readIndex('tiny-cnn');               // ModelIndex, or undefined
 * await store.withLock(() => store.writeJsonAtomic('v1/models.json', catalog));
 */
export class RegistryStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Absolute path of a protocol path (`v1/...`). */
  abs(rel: string): string {
    return path.join(this.root, ...rel.split('/'));
  }

  /** Reads and parses a JSON document; `undefined` when the file does not exist. */
  async readJson(rel: string): Promise<unknown> {
    let text: string;
    try {
      text = await fs.readFile(this.abs(rel), 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new RegistryStoreError(`${rel}: not valid JSON (${(e as Error).message})`, 'INVALID', { cause: e });
    }
  }

  private async readValid<T>(rel: string, validate: (data: unknown) => Checked<T>): Promise<T | undefined> {
    const data = await this.readJson(rel);
    if (data === undefined) return undefined;
    const r = validate(data);
    if (!r.ok) throw new RegistryStoreError(`${rel} is invalid: ${r.issues.join('; ')}`, 'INVALID');
    return r.value;
  }

  /** The catalogue, validated; `undefined` when the registry is empty. */
  async readCatalog(): Promise<Catalog | undefined> {
    return this.readValid(paths.catalog(), (d) => check(Catalog, d));
  }

  /** A model's index, validated; `undefined` when the model does not exist. */
  async readIndex(id: string): Promise<ModelIndex | undefined> {
    assertId(id);
    return this.readValid(paths.index(id), (d) => check(ModelIndex, d));
  }

  /** A version's manifest, validated; `undefined` when the version does not exist. */
  async readManifest(id: string, version: string): Promise<Manifest | undefined> {
    assertId(id);
    assertVersion(version);
    return this.readValid(paths.manifest(id, version), (d) => check(Manifest, d));
  }

  /** True when the file at a protocol path exists. */
  async exists(rel: string): Promise<boolean> {
    try {
      await fs.access(this.abs(rel));
      return true;
    } catch {
      return false;
    }
  }

  /** Replaces (or creates) a document atomically: temp file, fsync, rename. For mutable documents; call under {@link withLock}. */
  async writeJsonAtomic(rel: string, doc: unknown): Promise<void> {
    const final = this.abs(rel);
    const tmp = await writeTemp(final, toJsonText(doc));
    try {
      await fs.rename(tmp, final);
    } catch (e) {
      await fs.unlink(tmp).catch(() => undefined);
      throw e;
    }
    await syncDir(path.dirname(final));
  }

  /**
   * Creates an immutable document; refuses (code `EXISTS`) when the file is already
   * there, without touching it. `link()` is atomic and fails on an existing target,
   * so two concurrent writers cannot both win.
   */
  async createJsonExclusive(rel: string, doc: unknown): Promise<void> {
    const final = this.abs(rel);
    const tmp = await writeTemp(final, toJsonText(doc));
    try {
      await fs.link(tmp, final);
    } catch (e) {
      if (isErrno(e, 'EEXIST')) throw new RegistryStoreError(`${rel} already exists (immutable)`, 'EXISTS', { cause: e });
      throw e;
    } finally {
      await fs.unlink(tmp).catch(() => undefined);
    }
    await syncDir(path.dirname(final));
  }

  /**
   * Copies a file into the blob store under its SHA-256, hashing while copying.
   * A blob that is already there with the right size is left alone. With `sha256`/`size`, a file
   * that does not match stores nothing (`HASH_MISMATCH`, `INVALID`).
   *
   * @example
   * await store.putBlobFile('models/tiny-cnn/group1-shard1of1.bin');   // { sha256: '…', size: 27240 }
   */
  async putBlobFile(file: string, opts: PutBlobFileOptions = {}): Promise<BlobRef> {
    const { sha256, size } = await this.putBlobStream(createReadStream(file), {
      ...(opts.sha256 !== undefined ? { expectedSha256: opts.sha256 } : {}),
      ...(opts.size !== undefined ? { expectedSize: opts.size } : {}),
      ...(opts.onProgress ? { onChunk: opts.onProgress } : {}),
    });
    return { sha256, size };
  }

  /**
   * Streams bytes into the blob store: to a temp file (`.tmp-blob-*`, never served) while
   * hashing, then fsync and rename to `v1/blobs/sha256/{hash}`. Never buffers the whole body.
   * With `expectedSha256`/`expectedSize`, a mismatch stores nothing (`HASH_MISMATCH`, `INVALID`);
   * `maxBytes` and `stallMs` bound the upload (`TOO_LARGE`, `TIMEOUT`). On any failure the temp
   * file is removed (a killed process leaves it for {@link gc}).
   */
  async putBlobStream(source: AsyncIterable<Uint8Array>, opts: PutBlobOptions = {}): Promise<{ sha256: string; size: number; created: boolean; repaired: boolean }> {
    const dir = path.dirname(this.abs(paths.blob('0'.repeat(64))));
    await fs.mkdir(dir, { recursive: true });
    const tmp = tmpName(dir, 'blob');
    const hash = createHash('sha256');
    let size = 0;
    const h = await fs.open(tmp, 'wx', 0o644);
    const it = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await withStall(it.next(), opts.stallMs, () => {
          void it.return?.();
        });
        if (next.done) break;
        const buf = next.value;
        size += buf.length;
        if (opts.maxBytes !== undefined && size > opts.maxBytes) {
          void it.return?.();
          throw new RegistryStoreError(`blob is larger than the limit of ${opts.maxBytes} bytes`, 'TOO_LARGE');
        }
        if (opts.expectedSize !== undefined && size > opts.expectedSize) {
          throw new RegistryStoreError(`blob is larger than announced (${opts.expectedSize} bytes)`, 'INVALID');
        }
        hash.update(buf);
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await h.write(buf, off, buf.length - off);
          off += bytesWritten;
        }
        await opts.onChunk?.(size);
      }
      if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
        throw new RegistryStoreError(`blob is ${size} bytes, ${opts.expectedSize} announced`, 'INVALID');
      }
      await h.sync();
    } catch (e) {
      await h.close().catch(() => undefined);
      await fs.unlink(tmp).catch(() => undefined);
      throw e;
    }
    await h.close();
    const sha256 = hash.digest('hex');
    if (opts.expectedSha256 !== undefined && sha256 !== opts.expectedSha256) {
      await fs.unlink(tmp).catch(() => undefined);
      throw new RegistryStoreError(`uploaded bytes hash to ${sha256}, not ${opts.expectedSha256}`, 'HASH_MISMATCH');
    }
    const outcome = await this.commitBlob(tmp, sha256, size);
    return { sha256, size, created: outcome === 'created', repaired: outcome === 'repaired' };
  }

  /** True when the blob exists (with `size` bytes, when given). */
  async hasBlob(sha256: string, size?: number): Promise<boolean> {
    try {
      const st = await fs.stat(this.abs(paths.blob(sha256)));
      return st.isFile() && (size === undefined || st.size === size);
    } catch {
      return false;
    }
  }

  /** Stores bytes as a blob; returns its hash. */
  async putBlobBytes(bytes: Uint8Array): Promise<{ sha256: string; size: number }> {
    const sha256 = sha256Hex(bytes);
    const final = this.abs(paths.blob(sha256));
    if ((await sameSize(final, bytes.length)) && (await this.blobIntact(sha256))) return { sha256, size: bytes.length };
    const tmp = await writeTemp(final, bytes);
    await this.commitBlob(tmp, sha256, bytes.length);
    return { sha256, size: bytes.length };
  }

  /**
   * Puts a verified temp file in place as blob `sha256`. What is there already with the right size is kept
   * only if it really hashes to `sha256`: a corrupt (bit-rotted, overwritten) blob is replaced, so a
   * re-upload of the right bytes repairs it.
   */
  private async commitBlob(tmp: string, sha256: string, size: number): Promise<'created' | 'exists' | 'repaired'> {
    const final = this.abs(paths.blob(sha256));
    const present = await sameSize(final, size);
    if (present && (await this.blobIntact(sha256))) {
      // Content-addressed: what is there already is these bytes.
      await fs.unlink(tmp).catch(() => undefined);
      return 'exists';
    }
    const existed = present || (await fs.stat(final).then(() => true, () => false));
    try {
      // Missing, truncated or corrupt: put ours in place atomically.
      await fs.rename(tmp, final);
    } catch (e) {
      await fs.unlink(tmp).catch(() => undefined);
      throw e;
    }
    await syncDir(path.dirname(final));
    return existed ? 'repaired' : 'created';
  }

  /** True when blob `sha256` exists and its bytes hash to its name (read as a stream). */
  async blobIntact(sha256: string): Promise<boolean> {
    const hash = createHash('sha256');
    try {
      for await (const chunk of createReadStream(this.abs(paths.blob(sha256)), { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
    } catch {
      return false;
    }
    return hash.digest('hex') === sha256;
  }

  /**
   * Runs `fn` holding `{root}/.lock` (created with `wx`). Retries with small sleeps
   * until `timeoutMs`; a lock older than `staleMs` is taken to be left over by a
   * crashed writer and removed.
   */
  async withLock<T>(fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const staleMs = options.staleMs ?? 60_000;
    await fs.mkdir(this.root, { recursive: true });
    const lockPath = path.join(this.root, '.lock');
    // First word: the owner tag (pid and machine/boot), then a random token and the time.
    const token = `${OWNER} ${randomBytes(8).toString('hex')} ${new Date().toISOString()}\n`;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const h = await fs.open(lockPath, 'wx', 0o644);
        try {
          await h.writeFile(token);
        } finally {
          await h.close();
        }
        break;
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
      }
      try {
        const [st, text] = await Promise.all([fs.stat(lockPath), fs.readFile(lockPath, 'utf8')]);
        const owner = ownerState(text.split(' ')[0]);
        if (owner === 'dead' || (owner !== 'alive' && Date.now() - st.mtimeMs > staleMs)) {
          await breakLock(lockPath, text);
          continue;
        }
      } catch (e) {
        if (isErrno(e, 'ENOENT')) continue; // released meanwhile
        throw e;
      }
      if (Date.now() >= deadline) {
        throw new RegistryStoreError(`registry ${this.root} is locked by another writer (${lockPath}); remove it if no writer is running`, 'LOCKED');
      }
      await sleep(Math.min(200, 10 + attempt * 10) + Math.random() * 10);
    }
    // The lease: renew the lock while `fn` runs, so a long write is never mistaken for an abandoned lock.
    const lease = setInterval(() => {
      const now = new Date();
      void fs.utimes(lockPath, now, now).catch(() => undefined);
    }, Math.max(50, staleMs / 3));
    lease.unref();
    try {
      return await fn();
    } finally {
      clearInterval(lease);
      // Remove the lock only if it is still ours.
      const now = await fs.readFile(lockPath, 'utf8').catch(() => undefined);
      if (now === token) await fs.unlink(lockPath).catch(() => undefined);
    }
  }
}

/**
 * Removes an abandoned lock whose content was `seen`. Breakers take turns through a second lock,
 * `{lock}.break` (created with `wx`, held for a few file operations): under it the lock is read again and
 * unlinked only if it still holds what was judged abandoned. So of several writers that found the same dead
 * lock, one removes it and the others find the lock it then takes (alive: they wait). A guard left by a
 * breaker that died within those few operations is removed once it is 5 s old. (Moving the lock aside and
 * putting back what was not abandoned, as before, let a third writer take the lock in between: two holders.)
 */
async function breakLock(lockPath: string, seen: string): Promise<void> {
  const guard = `${lockPath}.break`;
  try {
    await (await fs.open(guard, 'wx', 0o644)).close();
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e;
    const st = await fs.stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 5000) await fs.unlink(guard).catch(() => undefined);
    return; // another writer is breaking it: look again
  }
  try {
    const now = await fs.readFile(lockPath, 'utf8').catch(() => undefined);
    if (now === seen) await fs.unlink(lockPath).catch(() => undefined);
  } finally {
    await fs.unlink(guard).catch(() => undefined);
  }
}

/** Races `p` against a stall timer; on timeout calls `onStall` and rejects with `TIMEOUT`. */
function withStall<T>(p: Promise<T>, ms: number | undefined, onStall: () => void): Promise<T> {
  if (ms === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject first: cancelling the source settles its pending read as "done", which must not win the race.
      reject(new RegistryStoreError(`upload stalled: no data for ${ms} ms`, 'TIMEOUT'));
      onStall();
    }, ms);
  });
  return Promise.race([p, stall]).finally(() => clearTimeout(timer));
}

async function sameSize(file: string, size: number): Promise<boolean> {
  try {
    const st = await fs.stat(file);
    return st.isFile() && st.size === size;
  } catch {
    return false;
  }
}

/** Throws unless `id` is a valid model id (keeps paths inside the root). */
export function assertId(id: string): void {
  if (typeof id !== 'string' || !MODEL_ID_RE.test(id) || id.includes('..')) {
    throw new RegistryStoreError(`invalid model id "${String(id)}" (lower-case letters, digits, '.', '_', '-'; 1–64 chars)`, 'INVALID');
  }
}

/** Throws (`INVALID`) unless `sha256` is 64 lower-case hex digits. */
export function assertSha256(sha256: string): void {
  if (typeof sha256 !== 'string' || !SHA256_RE.test(sha256)) {
    throw new RegistryStoreError(`invalid sha256 "${String(sha256)}" (64 lower-case hex digits)`, 'INVALID');
  }
}

/** Throws (`INVALID`) unless `alias` is an alias name. */
export function assertAlias(alias: string): void {
  if (typeof alias !== 'string' || !ALIAS_RE.test(alias)) {
    throw new RegistryStoreError(`invalid alias "${String(alias)}" (lower-case letter first, then letters, digits, '-')`, 'INVALID');
  }
}

/** Throws unless `version` is a semantic version. */
export function assertVersion(version: string): void {
  if (typeof version !== 'string' || !SEMVER_RE.test(version)) {
    throw new RegistryStoreError(`invalid version "${String(version)}" (semantic version such as 1.2.0)`, 'INVALID');
  }
}
