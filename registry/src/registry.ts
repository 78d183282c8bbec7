/**
 * The `Registry` interface: one set of operations on a webinfer model registry (protocol v1),
 * whatever holds it. Modelled on hono's `Router` interface — the interface first, several
 * implementations, one shared test suite (`registry/test/registry.case.ts`) that every
 * implementation passes:
 *
 * - {@link LocalRegistry}: a filesystem root (the tree `publish --root` writes);
 * - {@link RemoteRegistry}: the registry service over HTTP, with a bearer token. Its read
 *   part is plain `GET`s of protocol-v1 paths, so it also reads any static host serving the
 *   tree (nginx, an object store, a CDN); writes there fail with `READ_ONLY`.
 *
 * Every method rejects with a {@link RegistryStoreError} whose `code` is one of
 * {@link RegistryErrorCode} — the same code for the same situation on every implementation
 * (`NOT_FOUND`, `PRECONDITION`, `CONFLICT`, `INVALID`, `UNAUTHORIZED`, `LOCKED`, `UNREACHABLE`…).
 *
 * @example
 * const registry = openRegistry({ root: '.registry' });               // or { registry: 'https://models.example.com', token }
 * const { version, manifest } = await registry.resolve('tiny-cnn@stable');
 * const { etag } = await registry.index('tiny-cnn');
 * await registry.promote('tiny-cnn', 'stable', '1.1.0', { ifMatch: etag });
 */
import type { Catalog, Manifest, ModelIndex, ModelRef } from 'webinfer/protocol';
import { LocalRegistry, type LocalRegistryOptions } from './local.js';
import type { GcResult } from './ops.js';
import type { PreparedVersion, PublishProgress } from './publish.js';
import { RemoteRegistry } from './remote.js';
import type { BlobRef, PutBlobFileOptions } from './store.js';

export type { BlobRef, PutBlobFileOptions, RegistryErrorCode } from './store.js';
export type { GcResult } from './ops.js';

/**
 * A model index with the ETag of its current bytes — the value to send back as `ifMatch`.
 *
 * @example
 * const { index, etag } = await registry.index('tiny-cnn');
 * index.aliases;   // { latest: '1.1.0', stable: '1.0.0' }
 */
export interface IndexWithEtag {
  index: ModelIndex;
  etag: string;
}

/**
 * What a reference resolves to.
 *
 * @example
 * const r: Resolved = await registry.resolve('tiny-cnn@stable');   // { id: 'tiny-cnn', version: '1.0.0', manifest }
 */
export interface Resolved {
  id: string;
  version: string;
  manifest: Manifest;
}

/**
 * Options of {@link Registry.publish}.
 *
 * @example
 * await registry.publish(prepared, { private: true, onProgress: (p) => p.phase === 'blob' && console.log(p.file, p.loaded, p.total) });
 */
export interface PublishVersionOptions {
  /** On a model's first version: mark it private (reads need a `read` token on the service; export leaves it out). */
  private?: boolean;
  /** Called (and awaited) for every chunk of every blob stored or uploaded, then once before the commit. */
  onProgress?: (p: PublishProgress) => void | Promise<void>;
}

/**
 * The outcome of {@link Registry.publish}.
 *
 * @example
 * const { index, etag, uploaded } = await registry.publish(prepared);   // uploaded: 1 (the other blobs were there)
 */
export interface PublishedVersion {
  manifest: Manifest;
  /** The model index after the commit. */
  index: ModelIndex;
  /** ETag of that index. */
  etag: string;
  /** Blobs the registry did not have before. */
  uploaded: number;
}

/**
 * Optimistic concurrency of index writes: the ETag of the index the decision was based on.
 *
 * @example
 * await registry.rollback('tiny-cnn', 'stable', { ifMatch: etag });   // PRECONDITION if the index changed since
 */
export interface IfMatch {
  /** Refuse (`PRECONDITION`) unless the index still has this ETag. Default: the current one (read just before). */
  ifMatch?: string;
}

/**
 * Options of {@link Registry.yank}.
 *
 * @example
 * await registry.yank('tiny-cnn', '1.1.0', { yanked: false });   // restore
 */
export interface YankOptions extends IfMatch {
  /** `false` restores a yanked version. Default `true`. */
  yanked?: boolean;
}

/**
 * The outcome of an index write (promote, rollback, yank).
 *
 * @example
 * const { change, etag } = await registry.promote('tiny-cnn', 'stable', '1.1.0');   // change: 'stable: 1.0.0 -> 1.1.0'
 */
export interface IndexChange {
  /** What changed, e.g. `stable: 1.0.0 -> 1.1.0`. */
  change: string;
  index: ModelIndex;
  /** ETag of the index after the change. */
  etag: string;
}

/**
 * Options of {@link Registry.gc}.
 *
 * @example
 * await registry.gc({ minAgeMs: 0, dryRun: true });
 */
export interface GcOptions {
  /** Only files older than this (ms). Default one hour, which spares uploads in progress. */
  minAgeMs?: number;
  /** List, do not remove. */
  dryRun?: boolean;
}

/**
 * Options of {@link Registry.exportStatic}.
 *
 * @example
 * await registry.exportStatic('./www', { includePrivate: true });
 */
export interface ExportOptions {
  /** Include private models (the static tree has no access control). */
  includePrivate?: boolean;
}

/**
 * The outcome of {@link Registry.exportStatic}.
 *
 * @example
 * const r: ExportResult = await registry.exportStatic('./www');   // { models: 1, manifests: 2, blobs: 2, bytes: 29087 }
 */
export interface ExportResult {
  models: number;
  manifests: number;
  blobs: number;
  bytes: number;
}

/**
 * The read operations: what a reader of protocol v1 can do, from a filesystem root, the
 * service or any static host.
 *
 * @example
 * const reader: ReadableRegistry = openRegistry({ registry: 'https://cdn.example.com/models' });
 * (await reader.catalog()).models.map((m) => m.id);   // ['tiny-cnn']
 */
export interface ReadableRegistry {
  /** The implementation, like hono's `Router#name`: `'local'` or `'remote'`. */
  readonly name: string;
  /** Where it is: the absolute root directory, or the base URL. */
  readonly location: string;

  /** The catalogue (`v1/models.json`); an empty one for a local root nothing was published to. */
  catalog(): Promise<Catalog>;
  /** A model's index and its ETag. `NOT_FOUND` when the model does not exist. */
  index(id: string): Promise<IndexWithEtag>;
  /** A version's manifest. `NOT_FOUND` when the model or the version does not exist. */
  manifest(id: string, version: string): Promise<Manifest>;
  /**
   * Resolves `id` (stable, else latest), `id@alias` or `id@1.2.0` to a version and its manifest,
   * by the protocol's rules: an alias never resolves to a yanked version, a pinned version does.
   * `NOT_FOUND` for an unknown model, version or alias; `INVALID` for a malformed reference.
   */
  resolve(ref: string | ModelRef): Promise<Resolved>;
  /** True when the registry has the blob. */
  hasBlob(sha256: string): Promise<boolean>;
  /** A blob's bytes, verified against its hash (`HASH_MISMATCH` when they do not match, `NOT_FOUND` when missing). */
  readBlob(sha256: string): Promise<Uint8Array>;
  /** Writes the static tree of the public models (all with `includePrivate`) into a local directory, re-hashing every blob. */
  exportStatic(out: string, opts?: ExportOptions): Promise<ExportResult>;
}

/**
 * A registry that takes writes: the read operations plus publish, alias moves, yank, gc.
 * On a static host (read-only) every write rejects with `READ_ONLY`.
 *
 * @example
 * const registry: Registry = openRegistry({ registry: 'http://127.0.0.1:8080', token: process.env.WEBINFER_REGISTRY_TOKEN });
 * const prepared = await prepareVersion({ modelDir: 'models/tiny-cnn', id: 'tiny-cnn', version: '1.2.0', aliases: ['beta'], card: 'models/tiny-cnn/card.json' });
 * const { index } = await registry.publish(prepared);   // uploads the missing blobs, then commits the manifest
 * await registry.yank('tiny-cnn', '1.2.0');
 */
export interface Registry extends ReadableRegistry {
  /** Stores a file's bytes as a blob under their SHA-256 (checked against `sha256`/`size` when given). */
  putBlobFile(file: string, opts?: PutBlobFileOptions): Promise<BlobRef>;
  /**
   * Publishes a prepared version: stores (or uploads) the blobs it lacks, then commits the manifest,
   * the index and the catalogue, moving `prepared.aliases` (and `latest`) to it. `EXISTS` when the
   * version is already published (nothing changes).
   */
  publish(prepared: PreparedVersion, opts?: PublishVersionOptions): Promise<PublishedVersion>;
  /** Points `alias` at `version`. `NOT_FOUND` (version), `CONFLICT` (yanked), `INVALID` (`latest`), `PRECONDITION` (stale `ifMatch`). */
  promote(id: string, alias: string, version: string, opts?: IfMatch): Promise<IndexChange>;
  /** Moves `alias` back to its previous non-yanked target (a second rollback goes forward again). `CONFLICT` when there is none. */
  rollback(id: string, alias: string, opts?: IfMatch): Promise<IndexChange>;
  /** Yanks (or with `yanked: false` restores) a version: still resolvable when pinned, never chosen by an alias. */
  yank(id: string, version: string, opts?: YankOptions): Promise<IndexChange>;
  /** Removes temp files of aborted writes and blobs no manifest references, older than `minAgeMs`. */
  gc(opts?: GcOptions): Promise<GcResult>;
}

/**
 * Where a registry is: a local root directory, or the base URL of a service (or static host)
 * with an optional bearer token.
 *
 * @example
 * const here: RegistryLocation = { root: '.registry' };
 * const there: RegistryLocation = { registry: 'https://models.example.com', token: 'wi_…' };
 */
export type RegistryLocation = ({ root: string } & LocalRegistryOptions) | { registry: string; token?: string };

/**
 * Opens a registry: a {@link LocalRegistry} for `{ root }`, a {@link RemoteRegistry} for `{ registry, token }`.
 * Nothing is read until the first call.
 *
 * @example
 * const local = openRegistry({ root: '.registry' });
 * const remote = openRegistry({ registry: 'http://127.0.0.1:8080', token: process.env.WEBINFER_REGISTRY_TOKEN });
 * console.log(local.name, remote.name);   // 'local' 'remote'
 */
export function openRegistry(where: RegistryLocation): Registry {
  if ('registry' in where) return new RemoteRegistry(where.registry, where.token);
  const { root, ...opts } = where;
  return new LocalRegistry(root, opts);
}
