/**
 * `RemoteRegistry`: the {@link Registry} of a base URL. Reads are plain `GET`/`HEAD` requests of
 * protocol-v1 paths, so they work against the registry service and against any static host
 * serving the tree (nginx with `deploy/nginx.conf`, an object store, a CDN). Writes use the
 * service's endpoints with a bearer token; a static host refuses them (`READ_ONLY`).
 *
 * HTTP answers become the registry's typed errors ({@link RemoteError}, a {@link RegistryStoreError}):
 * 404 → `NOT_FOUND`, 412/428 → `PRECONDITION`, 409 → `EXISTS`/`CONFLICT`, 401 → `UNAUTHORIZED`,
 * 403 → `FORBIDDEN`, 503 `LOCKED` → `LOCKED`, a network failure or 5xx → `UNREACHABLE`; the message
 * keeps the service's own code, e.g. `… (HTTP 412 PRECONDITION_FAILED)`.
 *
 * @example
 * const remote = new RemoteRegistry('https://models.example.com', process.env.WEBINFER_REGISTRY_TOKEN);
 * await remote.promote('tiny-cnn', 'stable', '1.1.0');   // reads the index's ETag, sends If-Match
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { Catalog, check, Manifest, ModelIndex, paths, registryUrl, Variant, type Checked, type FileEntry, type ModelRef } from 'webinfer/protocol';
import type { GcResult } from './ops.js';
import type { PreparedVersion } from './publish.js';
import type { ExportOptions, ExportResult, GcOptions, IfMatch, IndexChange, IndexWithEtag, PublishedVersion, PublishVersionOptions, Registry, Resolved, YankOptions } from './registry.js';
import { resolveWith } from './resolve.js';
import {
  assertAlias,
  assertId,
  assertSha256,
  assertVersion,
  etagOf,
  RegistryStore,
  RegistryStoreError,
  type BlobRef,
  type PutBlobFileOptions,
  type RegistryErrorCode,
} from './store.js';

/**
 * A refusal or failure of a remote registry: a {@link RegistryStoreError} (same `code` as the local
 * registry gives for the same situation) with the HTTP `status` (0 when unreachable) and the
 * service's own error code (`serviceCode`, e.g. `PRECONDITION_FAILED`; `HTTP_404` from a static host).
 *
 * @example
 * try { await remote.promote('tiny-cnn', 'stable', '1.0.0', { ifMatch: '"stale"' }); }
 * catch (e) { if (e instanceof RemoteError) console.log(e.code, e.status, e.serviceCode); }   // 'PRECONDITION' 412 'PRECONDITION_FAILED'
 */
export class RemoteError extends RegistryStoreError {
  override name = 'RemoteError';
  constructor(
    message: string,
    code: RegistryErrorCode,
    readonly status: number,
    readonly serviceCode: string,
    options?: { cause?: unknown },
  ) {
    super(message, code, options);
  }
}

/** The service's codes that name a {@link RegistryErrorCode} directly. */
const SAME_CODES: ReadonlySet<string> = new Set<RegistryErrorCode>([
  'EXISTS',
  'INVALID',
  'LOCKED',
  'NOT_FOUND',
  'CONFLICT',
  'MISSING_BLOBS',
  'HASH_MISMATCH',
  'TOO_LARGE',
  'TIMEOUT',
  'UNAUTHORIZED',
  'FORBIDDEN',
]);
const isRegistryCode = (c: string): c is RegistryErrorCode => SAME_CODES.has(c);

/**
 * The registry error code of an HTTP answer. `serviceCode` is the `error.code` of the service's JSON
 * body (absent from a static host); `write` tells a write request, which a host without write
 * endpoints answers 404/405/501.
 *
 * @example
 * errorCodeOf(412, 'PRECONDITION_FAILED', true);   // 'PRECONDITION'
 * errorCodeOf(405, undefined, true);               // 'READ_ONLY' (a static host)
 */
export function errorCodeOf(status: number, serviceCode: string | undefined, write: boolean): RegistryErrorCode {
  if (serviceCode === undefined && write && (status === 404 || status === 405 || status === 501)) return 'READ_ONLY';
  if (serviceCode !== undefined) {
    if (isRegistryCode(serviceCode)) return serviceCode;
    if (serviceCode === 'PRECONDITION_FAILED' || serviceCode === 'PRECONDITION_REQUIRED') return 'PRECONDITION';
    if (serviceCode === 'INVALID_TOKEN') return 'UNAUTHORIZED';
    if (serviceCode.startsWith('INVALID')) return 'INVALID';
  }
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404 || status === 410) return 'NOT_FOUND';
  if (status === 405) return 'READ_ONLY';
  if (status === 408) return 'TIMEOUT';
  if (status === 409) return 'CONFLICT';
  if (status === 412 || status === 428) return 'PRECONDITION';
  if (status === 413) return 'TOO_LARGE';
  if (status >= 500 || status === 0) return 'UNREACHABLE';
  return 'INVALID';
}

/** An HTTP body as an async iterable of bytes. */
async function* bytesOf(body: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    if (!(chunk instanceof Uint8Array)) throw new RegistryStoreError('the response body is not bytes', 'INVALID');
    yield chunk;
  }
}

interface RequestOptions {
  headers?: Record<string, string>;
  body?: string | AsyncIterable<Uint8Array>;
}

/**
 * A registry behind a base URL: the registry service, or (reads only) a static host.
 *
 * @example
 * const remote = new RemoteRegistry('http://127.0.0.1:8080', 'wi_…');
 * const { index, etag } = await remote.index('tiny-cnn');
 * await remote.rollback('tiny-cnn', 'stable', { ifMatch: etag });
 */
export class RemoteRegistry implements Registry {
  readonly name = 'remote';

  constructor(
    /** The base URL (may have a path, e.g. `https://cdn.example.com/models`). */
    readonly base: string,
    private readonly token?: string,
  ) {}

  /** The base URL. */
  get location(): string {
    return this.base;
  }

  private async request(method: string, rel: string, init: RequestOptions = {}): Promise<Response> {
    const headers = { ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}), ...init.headers };
    let res: Response;
    try {
      res = await fetch(registryUrl(this.base, rel), {
        method,
        headers,
        ...(init.body !== undefined ? { body: init.body } : {}),
        ...(init.body !== undefined && typeof init.body !== 'string' ? { duplex: 'half' as const } : {}),
      });
    } catch (e) {
      if (e instanceof RegistryStoreError) throw e;
      const why = e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e);
      throw new RemoteError(`cannot reach ${this.base}: ${why}`, 'UNREACHABLE', 0, 'UNREACHABLE', { cause: e });
    }
    if (res.ok || res.status === 304) return res;
    // The service answers `{ "error": { "code", "message" } }`; a static host, an error page (or nothing).
    const error = objectOf(await res.text().catch(() => ''))?.['error'];
    const fields = typeof error === 'object' && error !== null ? Object.fromEntries(Object.entries(error)) : {};
    const serviceCode = typeof fields['code'] === 'string' ? fields['code'] : undefined;
    const code = errorCodeOf(res.status, serviceCode, method !== 'GET' && method !== 'HEAD');
    const wire = serviceCode ?? `HTTP_${res.status}`;
    let message = `${method} ${rel}: HTTP ${res.status}`;
    if (typeof fields['message'] === 'string') message = `${fields['message']} (HTTP ${res.status} ${wire})`;
    else if (code === 'READ_ONLY') message = `${this.base} takes no writes (${method} ${rel}: HTTP ${res.status}): a static host? Writes need the registry service`;
    throw new RemoteError(message, code, res.status, wire);
  }

  /** GETs a document: its bytes (for byte-exact copies), validated value and ETag. */
  private async getDoc<T>(rel: string, validate: (d: unknown) => Checked<T>): Promise<{ value: T; bytes: Uint8Array; etag: string }> {
    const res = await this.request('GET', rel);
    const bytes = new Uint8Array(await res.arrayBuffer());
    let data: unknown;
    try {
      data = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new RemoteError(`${rel} is not valid JSON`, 'INVALID', res.status, 'INVALID_DOCUMENT', { cause: e });
    }
    const r = validate(data);
    if (!r.ok) throw new RemoteError(`${rel} is invalid: ${r.issues.join('; ')}`, 'INVALID', res.status, 'INVALID_DOCUMENT');
    return { value: r.value, bytes, etag: res.headers.get('etag') ?? etagOf(bytes) };
  }

  async catalog(): Promise<Catalog> {
    return (await this.getDoc(paths.catalog(), (d) => check(Catalog, d))).value;
  }

  async index(id: string): Promise<IndexWithEtag> {
    assertId(id);
    const { value, etag } = await this.getDoc(paths.index(id), (d) => check(ModelIndex, d));
    return { index: value, etag };
  }

  async manifest(id: string, version: string): Promise<Manifest> {
    assertId(id);
    assertVersion(version);
    return (await this.getDoc(paths.manifest(id, version), (d) => check(Manifest, d))).value;
  }

  async resolve(ref: string | ModelRef): Promise<Resolved> {
    return resolveWith(
      ref,
      (id) => this.index(id),
      (id, version) => this.manifest(id, version),
    );
  }

  async hasBlob(sha256: string): Promise<boolean> {
    assertSha256(sha256);
    try {
      await this.request('HEAD', paths.blob(sha256));
      return true;
    } catch (e) {
      if (e instanceof RemoteError && e.status === 404) return false;
      throw e;
    }
  }

  /** The blob's bytes as they arrive (not verified: {@link readBlob} and the export verify them). */
  private async blobBody(sha256: string): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.request('GET', paths.blob(sha256));
    if (!res.body) throw new RemoteError(`blob ${sha256}: empty answer`, 'INVALID', res.status, 'INVALID_DOCUMENT');
    return bytesOf(res.body);
  }

  async readBlob(sha256: string): Promise<Uint8Array> {
    assertSha256(sha256);
    const hash = createHash('sha256');
    const chunks: Uint8Array[] = [];
    for await (const chunk of await this.blobBody(sha256)) {
      hash.update(chunk);
      chunks.push(chunk);
    }
    const actual = hash.digest('hex');
    if (actual !== sha256) throw new RegistryStoreError(`blob ${sha256} from ${this.base} is corrupt (its bytes hash to ${actual})`, 'HASH_MISMATCH');
    const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  /**
   * Streams a local file to `PUT /v1/blobs/sha256/{hash}` (the service re-hashes it and refuses a
   * mismatch with `HASH_MISMATCH`). Without `sha256`, the file is hashed first.
   */
  async putBlobFile(file: string, opts: PutBlobFileOptions = {}): Promise<BlobRef> {
    if (opts.sha256 !== undefined) assertSha256(opts.sha256);
    const size = opts.size ?? (await fs.stat(file)).size;
    const sha256 = opts.sha256 ?? (await hashFile(file));
    const onProgress = opts.onProgress;
    async function* counted(): AsyncGenerator<Uint8Array> {
      let loaded = 0;
      for await (const chunk of bytesOf(createReadStream(file, { highWaterMark: 256 * 1024 }))) {
        loaded += chunk.length;
        await onProgress?.(loaded);
        yield chunk;
      }
    }
    await this.request('PUT', paths.blob(sha256), {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body: counted(),
    });
    return { sha256, size };
  }

  /** Uploads the blobs the service lacks (`HEAD` first), then publishes the manifest with its aliases. */
  async publish(p: PreparedVersion, opts: PublishVersionOptions = {}): Promise<PublishedVersion> {
    let uploaded = 0;
    const done = new Set<string>();
    const onProgress = opts.onProgress;
    for (const f of p.files) {
      if (done.has(f.sha256)) continue;
      done.add(f.sha256);
      if (await this.hasBlob(f.sha256)) continue;
      await this.putBlobFile(f.abs, {
        sha256: f.sha256,
        size: f.size,
        ...(onProgress ? { onProgress: (loaded: number) => onProgress({ phase: 'blob', file: f.path, sha256: f.sha256, loaded, total: f.size }) } : {}),
      });
      uploaded++;
    }
    await onProgress?.({ phase: 'commit', id: p.id, version: p.version });
    const q = new URLSearchParams();
    for (const a of p.aliases) q.append('alias', a);
    if (opts.private) q.set('private', 'true');
    const res = await this.request('PUT', `${paths.manifest(p.id, p.version)}${q.size ? `?${q}` : ''}`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(p.doc),
    });
    const { index } = await this.writeAnswer(res, p.id);
    return { manifest: p.manifest, index, etag: res.headers.get('etag') ?? (await this.index(p.id)).etag, uploaded };
  }

  /** The `index` (validated) and `change` of a write's JSON answer. */
  private async writeAnswer(res: Response, id: string): Promise<{ index: ModelIndex; change: string }> {
    const body = objectOf(await res.text());
    const r = check(ModelIndex, body?.['index']);
    if (!r.ok) throw new RemoteError(`the answer about ${id} has no valid index: ${r.issues.join('; ')}`, 'INVALID', res.status, 'INVALID_DOCUMENT');
    const change = body?.['change'];
    return { index: r.value, change: typeof change === 'string' ? change : '' };
  }

  private async indexWrite(method: string, rel: string, id: string, ifMatch: string | undefined, body?: unknown): Promise<IndexChange> {
    const etag = ifMatch ?? (await this.index(id)).etag;
    const res = await this.request(method, rel, {
      headers: { 'If-Match': etag, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const { index, change } = await this.writeAnswer(res, id);
    return { change, index, etag: res.headers.get('etag') ?? (await this.index(id)).etag };
  }

  /** Moves an alias, guarded by `ifMatch` or else the ETag of the index read just before (`PRECONDITION` when it changed meanwhile). */
  async promote(id: string, alias: string, version: string, opts: IfMatch = {}): Promise<IndexChange> {
    assertId(id);
    assertAlias(alias);
    assertVersion(version);
    return this.indexWrite('PUT', `v1/models/${id}/aliases/${alias}`, id, opts.ifMatch, { version });
  }

  async rollback(id: string, alias: string, opts: IfMatch = {}): Promise<IndexChange> {
    assertId(id);
    assertAlias(alias);
    return this.indexWrite('POST', `v1/models/${id}/aliases/${alias}/rollback`, id, opts.ifMatch);
  }

  /** Yanks or restores a version (needs an `admin` token). */
  async yank(id: string, version: string, opts: YankOptions = {}): Promise<IndexChange> {
    assertId(id);
    assertVersion(version);
    return this.indexWrite('POST', `v1/models/${id}/versions/${version}/yank`, id, opts.ifMatch, { yanked: opts.yanked ?? true });
  }

  /** Downloads the static tree (public models, unless `includePrivate`) into a local directory, re-hashing every blob. */
  async exportStatic(out: string, opts: ExportOptions = {}): Promise<ExportResult> {
    const dest = new RegistryStore(out);
    const catalog = await this.catalog();
    const models = catalog.models.filter((m) => opts.includePrivate || m['private'] !== true);
    let manifests = 0;
    let blobs = 0;
    let bytes = 0;
    const copied = new Set<string>();
    for (const m of models) {
      const { value: index, bytes: indexBytes } = await this.getDoc(paths.index(m.id), (d) => check(ModelIndex, d));
      for (const e of index.versions) {
        const { value: manifest, bytes: manifestBytes } = await this.getDoc(paths.manifest(m.id, e.version), (d) => check(Manifest, d));
        for (const f of manifestFiles(manifest)) {
          if (copied.has(f.sha256)) continue;
          const r = await dest.putBlobStream(await this.blobBody(f.sha256), { expectedSha256: f.sha256, expectedSize: f.size });
          copied.add(f.sha256);
          blobs++;
          bytes += r.size;
        }
        await dest.writeJsonAtomic(paths.manifest(m.id, e.version), JSON.parse(new TextDecoder().decode(manifestBytes)));
        manifests++;
      }
      await dest.writeJsonAtomic(paths.index(m.id), JSON.parse(new TextDecoder().decode(indexBytes)));
    }
    await dest.writeJsonAtomic(paths.catalog(), { ...catalog, models });
    return { models: models.length, manifests, blobs, bytes };
  }

  async gc(opts: GcOptions = {}): Promise<GcResult> {
    const q = new URLSearchParams();
    if (opts.minAgeMs !== undefined) q.set('minAgeMs', String(opts.minAgeMs));
    if (opts.dryRun) q.set('dryRun', 'true');
    const res = await this.request('POST', `v1/admin/gc${q.size ? `?${q}` : ''}`);
    const body = objectOf(await res.text());
    const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x): x is string => typeof x === 'string') ? v : undefined);
    const temp = strings(body?.['temp']);
    const orphans = strings(body?.['orphans']);
    const bytes = body?.['bytes'];
    if (temp && orphans && typeof bytes === 'number') return { temp, orphans, bytes };
    throw new RemoteError('the gc answer is not { temp, orphans, bytes }', 'INVALID', res.status, 'INVALID_DOCUMENT');
  }
}

/** Every file of every variant of a manifest. */
function manifestFiles(m: Manifest): FileEntry[] {
  return Object.values(m.variants).flatMap((v) => {
    const r = check(Variant, v);
    return r.ok ? r.value.files : [];
  });
}

/** A JSON text's object, or `undefined`. */
function objectOf(text: string): Record<string, unknown> | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  return Object.fromEntries(Object.entries(data));
}

/** Hex SHA-256 of a file, streaming. */
async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of bytesOf(createReadStream(file))) hash.update(chunk);
  return hash.digest('hex');
}
