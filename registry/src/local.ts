/**
 * `LocalRegistry`: the {@link Registry} of a filesystem root — the tree `publish --root` writes and
 * a static host serves. A thin layer over {@link RegistryStore} (files, lock), `ops.ts` (alias moves,
 * yank, gc, export) and `publish.ts` (blobs, then the commit), with the registry's typed errors.
 *
 * @example
 * const registry = new LocalRegistry('.registry');
 * const { version } = await registry.resolve('tiny-cnn@stable');   // '1.0.0'
 * await registry.rollback('tiny-cnn', 'stable');
 */
import * as fs from 'node:fs/promises';
import { paths, type Catalog, type Manifest, type ModelRef } from 'webinfer/protocol';
import { exportStatic, gc, moveAlias, readIndexWithEtag, rollbackAlias, yankVersion, type GcResult } from './ops.js';
import { publishPrepared, type PreparedVersion } from './publish.js';
import type { ExportOptions, ExportResult, GcOptions, IfMatch, IndexChange, IndexWithEtag, PublishedVersion, PublishVersionOptions, Registry, Resolved, YankOptions } from './registry.js';
import { resolveWith } from './resolve.js';
import { assertId, assertSha256, assertVersion, RegistryStore, RegistryStoreError, sha256Hex, type BlobRef, type LockOptions, type PutBlobFileOptions } from './store.js';

/**
 * Options of {@link LocalRegistry}.
 *
 * @example
 * new LocalRegistry('.registry', { lock: { timeoutMs: 2000 } });   // give up (LOCKED) after 2 s instead of 10
 */
export interface LocalRegistryOptions {
  /** How writes wait for the registry lock (`{root}/.lock`). */
  lock?: LockOptions;
}

const isErrno = (e: unknown, code: string): boolean => e instanceof Error && 'code' in e && e.code === code;

/**
 * A registry in a local directory (created on the first write).
 *
 * @example
 * const registry = new LocalRegistry('.registry');
 * const prepared = await prepareVersion({ modelDir: 'models/tiny-cnn', id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: 'models/tiny-cnn/card.json' });
 * await registry.publish(prepared);
 * (await registry.catalog()).models[0].aliases;   // { latest: '1.0.0', stable: '1.0.0' }
 */
export class LocalRegistry implements Registry {
  readonly name = 'local';
  /** The files underneath (for the local-only tools: `verify`, the service, tokens). */
  readonly store: RegistryStore;
  private readonly lock: LockOptions | undefined;

  constructor(root: string, opts: LocalRegistryOptions = {}) {
    this.store = new RegistryStore(root);
    this.lock = opts.lock;
  }

  /** The absolute root directory. */
  get location(): string {
    return this.store.root;
  }

  private get lockOpts(): { lock?: LockOptions } {
    return this.lock ? { lock: this.lock } : {};
  }

  async catalog(): Promise<Catalog> {
    return (await this.store.readCatalog()) ?? { schema: 'webinfer.catalog/v1', models: [] };
  }

  async index(id: string): Promise<IndexWithEtag> {
    try {
      const { index, etag } = await readIndexWithEtag(this.store, id);
      return { index, etag };
    } catch (e) {
      if (e instanceof RegistryStoreError && e.code === 'NOT_FOUND') throw new RegistryStoreError(`model "${id}" not found in ${this.store.root}`, 'NOT_FOUND', { cause: e });
      throw e;
    }
  }

  async manifest(id: string, version: string): Promise<Manifest> {
    const m = await this.store.readManifest(id, version);
    if (!m) throw new RegistryStoreError(`${id}@${version} not found in ${this.store.root}`, 'NOT_FOUND');
    return m;
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
    return this.store.hasBlob(sha256);
  }

  async readBlob(sha256: string): Promise<Uint8Array> {
    assertSha256(sha256);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.store.abs(paths.blob(sha256)));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw new RegistryStoreError(`blob ${sha256} not found in ${this.store.root}`, 'NOT_FOUND', { cause: e });
      throw e;
    }
    const actual = sha256Hex(bytes);
    if (actual !== sha256) throw new RegistryStoreError(`blob ${sha256} is corrupt in ${this.store.root} (its bytes hash to ${actual})`, 'HASH_MISMATCH');
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async putBlobFile(file: string, opts: PutBlobFileOptions = {}): Promise<BlobRef> {
    if (opts.sha256 !== undefined) assertSha256(opts.sha256);
    return this.store.putBlobFile(file, opts);
  }

  async publish(prepared: PreparedVersion, opts: PublishVersionOptions = {}): Promise<PublishedVersion> {
    const r = await publishPrepared(this.store, prepared, {
      ...(opts.private !== undefined ? { private: opts.private } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...this.lockOpts,
    });
    return { manifest: r.manifest, index: r.index, etag: r.etag, uploaded: r.uploaded };
  }

  async promote(id: string, alias: string, version: string, opts: IfMatch = {}): Promise<IndexChange> {
    const { change, index, etag } = await moveAlias(this.store, id, alias, version, { ...opts, ...this.lockOpts });
    return { change, index, etag };
  }

  async rollback(id: string, alias: string, opts: IfMatch = {}): Promise<IndexChange> {
    const { change, index, etag } = await rollbackAlias(this.store, id, alias, { ...opts, ...this.lockOpts });
    return { change, index, etag };
  }

  async yank(id: string, version: string, opts: YankOptions = {}): Promise<IndexChange> {
    assertId(id);
    assertVersion(version);
    const { change, index, etag } = await yankVersion(this.store, id, version, { ...opts, ...this.lockOpts });
    return { change, index, etag };
  }

  async gc(opts: GcOptions = {}): Promise<GcResult> {
    return gc(this.store, { ...opts, ...this.lockOpts });
  }

  async exportStatic(out: string, opts: ExportOptions = {}): Promise<ExportResult> {
    return exportStatic(this.store, out, opts);
  }
}
