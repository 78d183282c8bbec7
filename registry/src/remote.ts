/**
 * A client of the registry service's HTTP API, for the CLI (`--registry URL`). Reads use the
 * protocol-v1 GET layout; writes use the service's write endpoints with a bearer token.
 *
 * @example
 * const remote = new RemoteRegistry('https://models.example.com', process.env.WEBINFER_REGISTRY_TOKEN);
 * await remote.promote('tiny-cnn', 'stable', '1.1.0');   // reads the index's ETag, sends If-Match
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { check, Catalog, Manifest, ModelIndex } from 'webinfer/protocol';
import { paths, registryUrl } from 'webinfer/protocol';
import type { PreparedVersion, PublishProgress } from './publish.js';
import type { GcResult } from './ops.js';
import { RegistryStore } from './store.js';

/** An error answer of the service (`{ error: { code, message } }`) or a transport failure. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export class RemoteRegistry {
  constructor(
    readonly base: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  private async request(method: string, rel: string, init: { headers?: Record<string, string>; body?: NonNullable<RequestInit['body']>; duplex?: 'half' } = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(registryUrl(this.base, rel), { method, ...init, headers: this.headers(init.headers) } as RequestInit);
    } catch (e) {
      throw new RemoteError(`cannot reach ${this.base}: ${(e as Error).message}`, 0, 'UNREACHABLE');
    }
    if (res.ok || res.status === 304) return res;
    let code = `HTTP_${res.status}`;
    let message = `${method} ${rel}: HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      if (body.error?.code) code = body.error.code;
      if (body.error?.message) message = `${body.error.message} (HTTP ${res.status} ${code})`;
    } catch {
      // not JSON
    }
    throw new RemoteError(message, res.status, code);
  }

  private async getValid<T>(rel: string, validate: (d: unknown) => { ok: true; value: T } | { ok: false; issues: string[] }): Promise<{ value: T; etag: string | null }> {
    const res = await this.request('GET', rel);
    const r = validate(await res.json());
    if (!r.ok) throw new RemoteError(`${rel} is invalid: ${r.issues.join('; ')}`, res.status, 'INVALID_DOCUMENT');
    return { value: r.value, etag: res.headers.get('etag') };
  }

  catalog(): Promise<Catalog> {
    return this.getValid(paths.catalog(), (d) => check(Catalog, d)).then((r) => r.value);
  }
  index(id: string): Promise<{ value: ModelIndex; etag: string | null }> {
    return this.getValid(paths.index(id), (d) => check(ModelIndex, d));
  }
  manifest(id: string, version: string): Promise<Manifest> {
    return this.getValid(paths.manifest(id, version), (d) => check(Manifest, d)).then((r) => r.value);
  }

  async hasBlob(sha256: string): Promise<boolean> {
    try {
      await this.request('HEAD', paths.blob(sha256));
      return true;
    } catch (e) {
      if (e instanceof RemoteError && e.status === 404) return false;
      throw e;
    }
  }

  /** Streams a local file to `PUT /v1/blobs/sha256/{hash}` (the service re-hashes it). */
  async putBlobFile(abs: string, sha256: string, size: number, onProgress?: (loaded: number) => void): Promise<void> {
    let loaded = 0;
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of createReadStream(abs, { highWaterMark: 256 * 1024 })) {
          loaded += (chunk as Buffer).length;
          onProgress?.(loaded);
          yield chunk as Buffer;
        }
      })(),
    );
    await this.request('PUT', paths.blob(sha256), {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body: Readable.toWeb(counted) as unknown as NonNullable<RequestInit['body']>,
      duplex: 'half',
    });
  }

  /** Uploads the blobs the service lacks, then publishes the manifest. */
  async publish(p: PreparedVersion, opts: { private?: boolean; onProgress?: (e: PublishProgress) => void } = {}): Promise<{ index: ModelIndex; uploaded: number }> {
    let uploaded = 0;
    const done = new Set<string>();
    for (const f of p.files) {
      if (done.has(f.sha256)) continue;
      done.add(f.sha256);
      if (await this.hasBlob(f.sha256)) continue;
      await this.putBlobFile(f.abs, f.sha256, f.size, (loaded) => opts.onProgress?.({ phase: 'blob', file: f.path, sha256: f.sha256, loaded, total: f.size }));
      uploaded++;
    }
    opts.onProgress?.({ phase: 'commit', id: p.id, version: p.version });
    const q = new URLSearchParams();
    for (const a of p.aliases) q.append('alias', a);
    if (opts.private) q.set('private', 'true');
    const res = await this.request('PUT', `${paths.manifest(p.id, p.version)}${q.size ? `?${q}` : ''}`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(p.doc),
    });
    const body = (await res.json()) as { index: ModelIndex };
    return { index: body.index, uploaded };
  }

  private async indexWrite(method: string, rel: string, id: string, body?: unknown, ifMatch?: string): Promise<{ change: string; index: ModelIndex }> {
    const etag = ifMatch ?? (await this.index(id)).etag;
    if (!etag) throw new RemoteError(`the service sent no ETag for ${id}'s index`, 0, 'NO_ETAG');
    const res = await this.request(method, rel, {
      headers: { 'If-Match': etag, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return (await res.json()) as { change: string; index: ModelIndex };
  }

  /** Moves an alias, guarded by the ETag of the index read just before (412 when it changed meanwhile). */
  promote(id: string, alias: string, version: string, ifMatch?: string): Promise<{ change: string; index: ModelIndex }> {
    return this.indexWrite('PUT', `v1/models/${id}/aliases/${alias}`, id, { version }, ifMatch);
  }
  rollback(id: string, alias: string, ifMatch?: string): Promise<{ change: string; index: ModelIndex }> {
    return this.indexWrite('POST', `v1/models/${id}/aliases/${alias}/rollback`, id, undefined, ifMatch);
  }
  yank(id: string, version: string, yanked = true): Promise<{ change: string; index: ModelIndex }> {
    return this.indexWrite('POST', `v1/models/${id}/versions/${version}/yank`, id, { yanked });
  }
  /** Downloads the static tree (public models, unless `includePrivate`) into a local directory, re-hashing every blob. */
  async exportTo(out: string, opts: { includePrivate?: boolean } = {}): Promise<{ models: number; manifests: number; blobs: number; bytes: number }> {
    const dest = new RegistryStore(out);
    const catalog = await this.catalog();
    const models = catalog.models.filter((m) => opts.includePrivate || (m as { private?: unknown }).private !== true);
    let manifests = 0;
    let blobs = 0;
    let bytes = 0;
    const copied = new Set<string>();
    for (const m of models) {
      const { value: index } = await this.index(m.id);
      for (const e of index.versions) {
        const manifestRes = await this.request('GET', paths.manifest(m.id, e.version));
        const manifestText = await manifestRes.text();
        const manifest = check(Manifest, JSON.parse(manifestText));
        if (!manifest.ok) throw new RemoteError(`${m.id}@${e.version}: invalid manifest`, 200, 'INVALID_DOCUMENT');
        for (const v of Object.values(manifest.value.variants)) {
          for (const f of (v as { files: Array<{ sha256: string; size: number }> }).files) {
            if (copied.has(f.sha256)) continue;
            const res = await this.request('GET', paths.blob(f.sha256));
            if (!res.body) throw new RemoteError(`blob ${f.sha256}: empty answer`, res.status, 'INVALID_DOCUMENT');
            const r = await dest.putBlobStream(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), { expectedSha256: f.sha256, expectedSize: f.size });
            copied.add(f.sha256);
            blobs++;
            bytes += r.size;
          }
        }
        await dest.writeJsonAtomic(paths.manifest(m.id, e.version), JSON.parse(manifestText));
        manifests++;
      }
      await dest.writeJsonAtomic(paths.index(m.id), index);
    }
    await dest.writeJsonAtomic(paths.catalog(), { ...catalog, models });
    return { models: models.length, manifests, blobs, bytes };
  }

  async gc(opts: { minAgeMs?: number; dryRun?: boolean } = {}): Promise<GcResult> {
    const q = new URLSearchParams();
    if (opts.minAgeMs !== undefined) q.set('minAgeMs', String(opts.minAgeMs));
    if (opts.dryRun) q.set('dryRun', 'true');
    const res = await this.request('POST', `v1/admin/gc${q.size ? `?${q}` : ''}`);
    return (await res.json()) as GcResult;
  }
}
