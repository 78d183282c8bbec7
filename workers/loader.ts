/**
 * Verified, cached loading: reference → index → manifest → files.
 *
 * - Every document is validated with the protocol's schema, and its last good copy
 *   is kept so that a model loaded before still loads with the registry down.
 * - Every file is checked against its size and SHA-256 before anything uses it;
 *   only verified bytes are cached (Cache API, keyed by hash).
 * - Concurrent loads share one download per blob; a download is aborted only when
 *   every load waiting on it was aborted.
 */
import type { GenericSchema, InferOutput } from 'valibot';
import { IntegrityError } from '../src/shared/errors/integrity.js';
import { ManifestError } from '../src/shared/errors/manifest.js';
import { QuotaExceededError } from '../src/shared/errors/quota-exceeded.js';
import { RegistryUnavailableError } from '../src/shared/errors/registry-unavailable.js';
import { formatRef, parseRef, paths, registryUrl, resolveVersion } from '../src/shared/registry/refs.js';
import { check, Manifest, manifestProblems, ManifestSignatures, ModelIndex, type Dtype, type FileEntry } from '../src/shared/registry/schema.js';
import { sha256Hex, sha256Integrity, verifyEd25519 } from './hash.js';
import { abortError, throwIfAborted } from '../src/shared/abort.js';
import { fetchBytes, NotFound, notFoundAsModel, type NetOptions } from './net.js';
import type { LoadProgress } from '../src/shared/types.js';
import type { ModelStore } from './store.js';

export interface LoadedFiles {
  readonly manifest: Manifest;
  readonly dtype: Dtype;
  /** path → verified bytes */
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly bytes: number;
  readonly downloadedBytes: number;
  readonly offline: boolean;
  readonly cached: boolean;
  readonly warnings: readonly string[];
  /** Drops the bytes of one file (a model that copied them into its own memory); `files` no longer has it. */
  release(path: string): void;
}

/** A download shared by concurrent loads: the verified bytes, and how storing them in the cache went. */
interface Fetched {
  readonly bytes: Uint8Array;
  /** true: cached; false: not cached (no Cache API); an error: the cache write failed (e.g. quota). */
  readonly stored: boolean | Error;
}

interface Inflight {
  readonly promise: Promise<Fetched>;
  readonly controller: AbortController;
  readonly listeners: Set<(loaded: number) => void>;
  waiters: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class Loader {
  readonly #inflight = new Map<string, Inflight>();
  /** manifest URL → `sha256-…` of the manifest accepted for it (see #trustManifest). */
  readonly #seen = new Map<string, string>();
  constructor(
    readonly registry: string,
    readonly net: NetOptions,
    readonly store: ModelStore,
    /** Registry keys a manifest must be signed by one of (`ed25519:<base64>`); empty: no signature check. */
    readonly trustKeys: readonly string[] = [],
  ) {}

  /**
   * Fetches a JSON document; on network failure falls back to its last good cached copy.
   * `accept` (the trust checks of a manifest) runs on the raw bytes before the copy is kept.
   */
  async #doc<S extends GenericSchema>(
    path: string,
    schema: S,
    signal: AbortSignal,
    onNotFound: (e: unknown) => never,
    accept?: (raw: Uint8Array, value: InferOutput<S>, offline: boolean) => Promise<void>,
  ): Promise<{ value: InferOutput<S>; offline: boolean }> {
    const url = registryUrl(this.registry, path);
    let raw: Uint8Array;
    let offline = false;
    try {
      raw = await fetchBytes(url, this.net, signal);
    } catch (e) {
      if (e instanceof RegistryUnavailableError) {
        const cached = await this.store.getDoc(url);
        if (cached === undefined) throw e;
        raw = encoder.encode(cached);
        offline = true;
      } else {
        onNotFound(e);
      }
    }
    const text = decoder.decode(raw);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new ManifestError(`${url} is not valid JSON`, { url, issues: [String(e)] }, { cause: e });
    }
    const r = check(schema, data);
    if (!r.ok) throw new ManifestError(`${url} does not match registry protocol v1: ${r.issues.slice(0, 3).join('; ')}`, { url, issues: r.issues });
    if (accept) await accept(raw, r.value, offline);
    if (!offline) await this.store.putDoc(url, text);
    return { value: r.value, offline };
  }

  /**
   * The trust checks of a version manifest, over its exact bytes:
   * - pinned (`integrity`, like Subresource Integrity): the bytes must hash to it;
   * - otherwise, versions are immutable: a manifest that differs from the one this client accepted
   *   before for the same URL is refused (`immutable-violated`), never used silently.
   * The hash of an accepted manifest is remembered (in memory and in the Cache API).
   */
  async #trustManifest(url: string, raw: Uint8Array, integrity: string | undefined, id: string, version: string, signal: AbortSignal): Promise<string> {
    const actual = await sha256Integrity(raw);
    if (this.trustKeys.length > 0) await this.#checkSignatures(url, raw, actual, id, version, signal);
    if (integrity !== undefined) {
      if (actual !== integrity) {
        throw new ManifestError(`${url}: the manifest does not match the pinned integrity (expected ${integrity}, got ${actual})`, {
          url,
          issues: [`expected ${integrity}`, `got ${actual}`],
          reason: 'integrity-mismatch',
        });
      }
    } else {
      const seen = this.#seen.get(url) ?? (await this.store.getSeen(url));
      if (seen !== undefined && seen !== actual) {
        throw new ManifestError(
          `${url}: this version's manifest changed since this client last loaded it (was ${seen}, now ${actual}); versions are immutable, so the registry (or a cache in front of it) is serving something else`,
          { url, issues: [`was ${seen}`, `now ${actual}`], reason: 'immutable-violated' },
        );
      }
    }
    this.#seen.set(url, actual);
    await this.store.putSeen(url, actual);
    return actual;
  }

  /**
   * Signed manifests: `versions/{version}.sig.json` must hold a valid Ed25519 signature of the manifest's exact
   * bytes by one of {@link trustKeys} (WebCrypto). Unsigned, wrongly signed or signed only by other keys: ManifestError.
   */
  async #checkSignatures(url: string, raw: Uint8Array, actual: string, id: string, version: string, signal: AbortSignal): Promise<void> {
    const sigUrl = registryUrl(this.registry, paths.signatures(id, version));
    const fail = (reason: 'unsigned' | 'bad-signature' | 'untrusted-key' | 'revoked-key', why: string): never => {
      throw new ManifestError(`${url}: ${why}; this client trusts only ${this.trustKeys.join(', ')}`, { url, issues: [why], reason });
    };
    let doc: ManifestSignatures;
    try {
      doc = (await this.#doc(paths.signatures(id, version), ManifestSignatures, signal, (e) => {
        if (e instanceof NotFound) fail('unsigned', `the manifest is not signed (no ${sigUrl})`);
        throw e;
      })).value;
    } catch (e) {
      if (e instanceof ManifestError && e.reason === undefined) fail('bad-signature', `the signatures document is invalid: ${e.message}`);
      throw e;
    }
    if (doc.manifest !== actual) fail('bad-signature', `the signatures are for manifest ${doc.manifest}, not for these bytes (${actual})`);
    const pinned = doc.signatures.filter((s) => this.trustKeys.includes(s.key));
    if (pinned.length === 0) fail(doc.signatures.length === 0 ? 'unsigned' : 'untrusted-key', `the manifest is signed only by ${doc.signatures.map((s) => s.key).join(', ') || 'nobody'}`);
    // A key the registry lists as revoked signs nothing any more, old versions included: its private half may be
    // in other hands. (Re-sign old versions with a live key: `webinfer-registry keys resign`.)
    const revoked = await this.#revokedKeys(id, signal);
    const trusted = pinned.filter((s) => !revoked.has(s.key));
    if (trusted.length === 0) {
      fail('revoked-key', `the manifest is signed only by ${pinned.map((s) => `${s.key} (revoked ${revoked.get(s.key)})`).join(', ')}, which the registry lists as revoked`);
    }
    for (const s of trusted) {
      if (await verifyEd25519(s.key, s.sig, raw)) return;
    }
    fail('bad-signature', `the signature by ${trusted.map((s) => s.key).join(', ')} does not verify over the manifest's bytes`);
  }

  /** The signing keys the model's index lists as revoked, with when (none if the index has no key list or is missing). */
  async #revokedKeys(id: string, signal: AbortSignal): Promise<Map<string, string>> {
    let idx: ModelIndex | undefined;
    try {
      idx = (await this.#doc(paths.index(id), ModelIndex, signal, (e) => {
        throw e;
      })).value;
    } catch (e) {
      if (e instanceof NotFound) return new Map();
      throw e;
    }
    return new Map((idx.keys ?? []).flatMap((k) => (k.revokedAt !== undefined ? [[k.key, k.revokedAt] as const] : [])));
  }

  /** Resolves a reference to its manifest (validated, consistent, trusted). */
  async resolve(refText: string, signal: AbortSignal, trust: { integrity?: string | undefined } = {}): Promise<{ manifest: Manifest; offline: boolean; integrity: string }> {
    const ref = parseRef(refText);
    let version: string;
    let offline = false;
    if (ref.kind === 'version') {
      version = ref.version;
    } else {
      const idx = await this.#doc(paths.index(ref.id), ModelIndex, signal, (e) => notFoundAsModel(e, ref.id));
      offline ||= idx.offline;
      if (idx.value.id !== ref.id) {
        throw new ManifestError(`index of "${ref.id}" names model "${idx.value.id}"`, { url: registryUrl(this.registry, paths.index(ref.id)), issues: ['id mismatch'] });
      }
      version = resolveVersion(idx.value, ref);
    }
    const url = registryUrl(this.registry, paths.manifest(ref.id, version));
    let integrity = '';
    const m = await this.#doc(
      paths.manifest(ref.id, version),
      Manifest,
      signal,
      (e) => notFoundAsModel(e, ref.id, version),
      async (raw, manifest) => {
        const problems = manifestProblems(manifest);
        if (manifest.id !== ref.id || manifest.version !== version) problems.push(`manifest is for ${manifest.id}@${manifest.version}, expected ${formatRef({ id: ref.id, kind: 'version', version })}`);
        if (problems.length > 0) throw new ManifestError(`${url}: ${problems.join('; ')}`, { url, issues: problems });
        integrity = await this.#trustManifest(url, raw, trust.integrity, ref.id, version, signal);
      },
    );
    offline ||= m.offline;
    return { manifest: m.value, offline, integrity };
  }

  /** Resolves and fetches every file of a model, verified. */
  async load(refText: string, dtype: Dtype, signal: AbortSignal, onProgress: (p: LoadProgress) => void, trust: { integrity?: string | undefined } = {}): Promise<LoadedFiles> {
    const { manifest, offline } = await this.resolve(refText, signal, trust);
    return this.fetchFiles(manifest, offline, dtype, signal, onProgress);
  }

  /** Fetches (or reads from the cache) every file of a resolved manifest, verified. */
  async fetchFiles(manifest: Manifest, offline: boolean, dtype: Dtype, signal: AbortSignal, onProgress: (p: LoadProgress) => void): Promise<LoadedFiles> {
    const variant = manifest.variants[dtype] ?? manifest.variants.float32;
    const chosen: Dtype = manifest.variants[dtype] ? dtype : 'float32';
    const total = variant.files.reduce((s, f) => s + f.size, 0);
    const warnings: string[] = [];
    if (offline) warnings.push('registry unreachable: using the cached manifest');
    let done = 0;
    let downloaded = 0;
    let cached = true;
    let lastEmit = 0;
    const emit = (file: string, current: number, source: LoadProgress['source'], force = false): void => {
      const now = performance.now();
      if (!force && now - lastEmit < 50) return;
      lastEmit = now;
      onProgress({ loaded: done + current, total, file, source });
    };
    emit('', 0, 'cache', true);
    const files = new Map<string, Uint8Array>();
    // Sequential: one file at a time keeps progress honest and memory bounded.
    for (const f of variant.files) {
      throwIfAborted(signal, 'load');
      // A download of this blob already under way (another load) is joined, not raced against the cache.
      let bytes = this.#inflight.has(f.sha256) ? undefined : await this.store.getBlob(f.sha256, f.size);
      if (bytes) {
        done += f.size;
        emit(f.path, 0, 'cache', true);
      } else {
        const fetched = await this.#blob(f, signal, (n) => emit(f.path, n, 'network'));
        bytes = fetched.bytes;
        downloaded += f.size;
        done += f.size;
        emit(f.path, 0, 'network', true);
        if (fetched.stored instanceof Error) {
          if (!(fetched.stored instanceof QuotaExceededError)) throw fetched.stored;
          cached = false;
          if (!warnings.some((w) => w.startsWith('storage quota'))) warnings.push(`storage quota full: ${fetched.stored.message}; the model runs but is not cached`);
        } else if (!fetched.stored) {
          cached = false;
        }
      }
      files.set(f.path, bytes);
    }
    if (!(await this.store.available())) {
      cached = false;
      warnings.push('the Cache API is unavailable here: models are not cached');
    }
    return { manifest, dtype: chosen, files, bytes: total, downloadedBytes: downloaded, offline, cached, warnings, release: (path) => void files.delete(path) };
  }

  /** Downloads one blob until its bytes match the manifest (see {@link INTEGRITY_ATTEMPTS}); mismatching bytes are dropped. */
  async #verifiedDownload(f: FileEntry, url: string, signal: AbortSignal, onBytes: (n: number) => void): Promise<Uint8Array> {
    let last: IntegrityError | undefined;
    for (const httpCache of INTEGRITY_ATTEMPTS) {
      try {
        const bytes = await fetchBytes(url, this.net, signal, onBytes, f.size, httpCache).catch((e: unknown) => notFoundAsBlob(e, f));
        const actual = await sha256Hex(bytes);
        if (bytes.byteLength === f.size && actual === f.sha256) return bytes;
        last = new IntegrityError(
          `${f.path}: downloaded bytes do not match the manifest (expected sha256 ${f.sha256} and ${f.size} bytes, got ${actual} and ${bytes.byteLength} bytes; fetched ${INTEGRITY_ATTEMPTS.indexOf(httpCache) + 1} times, the last bypassing the HTTP cache)`,
          { file: f.path, expected: `sha256:${f.sha256}`, actual: `sha256:${actual}` },
        );
      } catch (e) {
        if (!(e instanceof IntegrityError)) throw e;
        last = e;
      }
    }
    throw last!;
  }

  /**
   * Downloads one blob, shared among concurrent callers, verifies it and stores it in the cache.
   * The shared entry lives until the cache write is done, so a load that starts meanwhile joins
   * it instead of missing both the download and the cache.
   */
  #blob(f: FileEntry, signal: AbortSignal, onBytes: (n: number) => void): Promise<Fetched> {
    let entry = this.#inflight.get(f.sha256);
    if (!entry) {
      const controller = new AbortController();
      const listeners = new Set<(n: number) => void>();
      const url = registryUrl(this.registry, paths.blob(f.sha256));
      const promise = (async () => {
        const bytes = await this.#verifiedDownload(f, url, controller.signal, (n) => listeners.forEach((l) => l(n)));
        let stored: boolean | Error;
        try {
          stored = await this.store.putBlob(f.sha256, bytes);
        } catch (e) {
          stored = e instanceof Error ? e : new Error(String(e));
        }
        return { bytes, stored };
      })().finally(() => this.#inflight.delete(f.sha256));
      entry = { promise, controller, listeners, waiters: 0 };
      this.#inflight.set(f.sha256, entry);
    }
    const e = entry;
    e.waiters++;
    e.listeners.add(onBytes);
    return new Promise<Fetched>((resolve, reject) => {
      const leave = (): void => {
        e.listeners.delete(onBytes);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        leave();
        if (--e.waiters === 0) e.controller.abort();
        reject(abortError(signal, 'load'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      e.promise.then(
        (b) => {
          leave();
          e.waiters--;
          resolve(b);
        },
        (err: unknown) => {
          leave();
          e.waiters--;
          reject(err);
        },
      );
    });
  }
}

/**
 * How a blob is fetched, in order, after bytes that do not match the manifest: through the HTTP cache
 * (blobs are immutable, so a cached copy is normally right), then revalidating past it (`reload`: the
 * fresh answer replaces a corrupt cached copy, in the browser's cache and any CDN that honours it), then
 * around it (`no-store`). Only when all three disagree with the manifest is the load an IntegrityError.
 */
export const INTEGRITY_ATTEMPTS: readonly RequestCache[] = ['default', 'reload', 'no-store'];

function notFoundAsBlob(e: unknown, f: FileEntry): never {
  if (e instanceof NotFound) {
    throw new ManifestError(`blob ${f.sha256} (${f.path}) is missing from the registry`, { url: f.path, issues: ['missing blob'] });
  }
  throw e;
}
