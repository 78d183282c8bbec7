/**
 * The browser-side store: verified blobs in the Cache API keyed by their SHA-256
 * (content-addressed, so one copy serves every model and every registry), and
 * the last good copy of every registry document, for offline use.
 *
 * Nothing unverified is ever stored, and every read is verified again, so a
 * corrupted entry is detected, dropped and fetched anew.
 */
import { QuotaExceededError } from '../src/shared/errors/quota-exceeded.js';
import { sha256Hex } from './hash.js';

const BLOB_KEY = (hash: string): string => `https://webinfer.cache/sha256/${hash}`;
const DOC_KEY = (url: string): string => `https://webinfer.cache/doc/${encodeURIComponent(url)}`;
const SEEN_KEY = (url: string): string => `https://webinfer.cache/seen/${encodeURIComponent(url)}`;

export class ModelStore {
  #cache: Promise<Cache | undefined> | undefined;
  constructor(readonly cacheName: string) {}

  #open(): Promise<Cache | undefined> {
    this.#cache ??= (async () => {
      try {
        if (typeof caches === 'undefined') return undefined;
        return await caches.open(this.cacheName);
      } catch {
        return undefined; // e.g. opaque origins or storage disabled: run without a cache
      }
    })();
    return this.#cache;
  }

  /** True when the Cache API is usable here. */
  async available(): Promise<boolean> {
    return (await this.#open()) !== undefined;
  }

  /** The blob with this hash, verified; `undefined` when absent or corrupted (a corrupted entry is deleted). */
  async getBlob(hash: string, size: number): Promise<Uint8Array | undefined> {
    const cache = await this.#open();
    if (!cache) return undefined;
    const res = await cache.match(BLOB_KEY(hash));
    if (!res) return undefined;
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength === size && (await sha256Hex(bytes)) === hash) return bytes;
    await cache.delete(BLOB_KEY(hash));
    return undefined;
  }

  /** Stores verified bytes. Throws QuotaExceededError when the quota is full (nothing half-stored stays). */
  async putBlob(hash: string, bytes: Uint8Array): Promise<boolean> {
    const cache = await this.#open();
    if (!cache) return false;
    try {
      await cache.put(
        BLOB_KEY(hash),
        new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) } }),
      );
      return true;
    } catch (e) {
      await cache.delete(BLOB_KEY(hash)).catch(() => false);
      if (e instanceof DOMException && e.name === 'QuotaExceededError') {
        throw new QuotaExceededError(`browser storage quota is full: could not cache ${bytes.byteLength} bytes`, { bytes: bytes.byteLength }, { cause: e });
      }
      throw e;
    }
  }

  /** Remembers the last good text of a registry document. Best effort. */
  async putDoc(url: string, text: string): Promise<void> {
    const cache = await this.#open();
    if (!cache) return;
    await cache.put(DOC_KEY(url), new Response(text, { headers: { 'content-type': 'application/json' } })).catch(() => undefined);
  }

  async getDoc(url: string): Promise<string | undefined> {
    const cache = await this.#open();
    if (!cache) return undefined;
    const res = await cache.match(DOC_KEY(url));
    return res ? res.text() : undefined;
  }

  /** The hash of a version manifest this client accepted before (`sha256-…`), if it remembers one. */
  async getSeen(url: string): Promise<string | undefined> {
    const cache = await this.#open();
    if (!cache) return undefined;
    const res = await cache.match(SEEN_KEY(url)).catch(() => undefined);
    return res ? res.text() : undefined;
  }

  /** Remembers the hash of an accepted version manifest (versions are immutable). Best effort. */
  async putSeen(url: string, integrity: string): Promise<void> {
    const cache = await this.#open();
    if (!cache) return;
    await cache.put(SEEN_KEY(url), new Response(integrity, { headers: { 'content-type': 'text/plain' } })).catch(() => undefined);
  }
}
