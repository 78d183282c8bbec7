/**
 * The worker's HTTP and cache layers, in Node with a scripted fetch and an
 * in-memory Cache API: retries and backoff, 404s, stalls, size limits, abort,
 * quota, corrupted cache entries.
 */
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Loader } from '../../workers/loader.js';
import { fetchBytes, NotFound } from '../../workers/net.js';
import { ModelStore } from '../../workers/store.js';

const opts = { retries: 2, timeoutMs: 200 };
const never = new AbortController().signal;

afterEach(() => {
  vi.unstubAllGlobals();
});

function scripted(...answers: Array<() => Response | Promise<Response>>) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
    calls.push(url);
    const next = answers.shift();
    if (!next) throw new Error('unexpected fetch');
    if (init?.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    return next();
  });
  return calls;
}

describe('fetchBytes', () => {
  it('retries network errors and 5xx, then succeeds', async () => {
    const calls = scripted(
      () => Promise.reject(new TypeError('Failed to fetch')),
      () => new Response('busy', { status: 503 }),
      () => new Response(new Uint8Array([1, 2, 3])),
    );
    const seen: number[] = [];
    const bytes = await fetchBytes('http://r/x', opts, never, (n) => seen.push(n));
    expect(Array.from(bytes)).toEqual([1, 2, 3]);
    expect(calls).toHaveLength(3);
    expect(seen.at(-1)).toBe(3);
  });

  it('gives up after the bounded number of retries with RegistryUnavailableError (status kept)', async () => {
    const calls = scripted(
      () => new Response('', { status: 502 }),
      () => new Response('', { status: 502 }),
      () => new Response('', { status: 502 }),
    );
    await expect(fetchBytes('http://r/x', opts, never)).rejects.toMatchObject({ name: 'RegistryUnavailableError', fields: { url: 'http://r/x', status: 502 } });
    expect(calls).toHaveLength(3);
  });

  it('does not retry a 404 (NotFound) or a 403 (RegistryUnavailableError with status)', async () => {
    scripted(() => new Response('', { status: 404 }));
    await expect(fetchBytes('http://r/a', opts, never)).rejects.toBeInstanceOf(NotFound);
    const calls = scripted(() => new Response('', { status: 403 }));
    await expect(fetchBytes('http://r/b', opts, never)).rejects.toMatchObject({ name: 'RegistryUnavailableError', fields: { status: 403 } });
    expect(calls).toHaveLength(1);
  });

  it('a body longer than the expected size is an IntegrityError, not a memory bomb', async () => {
    scripted(() => new Response(new Uint8Array(100)));
    await expect(fetchBytes('http://r/x', opts, never, undefined, 10)).rejects.toMatchObject({ name: 'IntegrityError' });
  });

  it('a stalled body is aborted after timeoutMs and retried', async () => {
    const stalled = () =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array([1]));
            // …and never another byte.
          },
        }),
      );
    const calls = scripted(stalled, () => new Response(new Uint8Array([9, 9])));
    const t0 = Date.now();
    const bytes = await fetchBytes('http://r/x', { retries: 1, timeoutMs: 150 }, never);
    expect(Array.from(bytes)).toEqual([9, 9]);
    expect(calls).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('a trickle (one byte every 10 ms) below the throughput floor is a stall, although bytes keep coming', async () => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const trickle = () =>
      new Response(
        new ReadableStream({
          start(c) {
            timer = setInterval(() => c.enqueue(new Uint8Array([1])), 10);
          },
          cancel() {
            clearInterval(timer);
          },
        }),
      );
    const calls = scripted(trickle, trickle);
    const t0 = Date.now();
    const e = await fetchBytes('http://r/x', { retries: 1, timeoutMs: 100, minBytesPerSecond: 1000 }, never).catch((x: unknown) => x);
    clearInterval(timer);
    expect(e).toMatchObject({ name: 'RegistryUnavailableError' });
    expect((e as Error).message).toMatch(/below the floor of 1000 bytes\/s/);
    expect(calls).toHaveLength(2);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a body at the floor or above is not a stall', async () => {
    let timer: ReturnType<typeof setInterval> | undefined;
    let sent = 0;
    scripted(() =>
      new Response(
        new ReadableStream({
          start(c) {
            timer = setInterval(() => {
              c.enqueue(new Uint8Array(50));
              if (++sent === 30) {
                clearInterval(timer);
                c.close();
              }
            }, 10);
          },
        }),
      ),
    );
    const bytes = await fetchBytes('http://r/x', { retries: 0, timeoutMs: 100, minBytesPerSecond: 1000 }, never);
    expect(bytes.byteLength).toBe(1500);
  });

  it('the caller\'s abort wins at once, as our AbortError', async () => {
    scripted(() => Promise.reject(new TypeError('down')), () => new Response('x'));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await expect(fetchBytes('http://r/x', { retries: 5, timeoutMs: 1000 }, ac.signal)).rejects.toMatchObject({ name: 'AbortError', code: 'ABORTED' });
  });
});

/** A minimal in-memory Cache API. */
class MemoryCache {
  readonly map = new Map<string, ArrayBuffer>();
  quota = Infinity;
  async match(key: string): Promise<Response | undefined> {
    const b = this.map.get(key);
    return b ? new Response(b.slice(0)) : undefined;
  }
  async put(key: string, res: Response): Promise<void> {
    const b = await res.arrayBuffer();
    const used = [...this.map.values()].reduce((s, x) => s + x.byteLength, 0);
    if (used + b.byteLength > this.quota) throw new DOMException('quota', 'QuotaExceededError');
    this.map.set(key, b);
  }
  async delete(key: string): Promise<boolean> {
    return this.map.delete(key);
  }
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('ModelStore', () => {
  it('stores and returns verified blobs; a corrupted entry is dropped', async () => {
    const cache = new MemoryCache();
    vi.stubGlobal('caches', { open: async () => cache });
    const store = new ModelStore('t');
    const bytes = new Uint8Array([1, 2, 3, 4]);
    expect(await store.putBlob(sha(bytes), bytes)).toBe(true);
    expect(Array.from((await store.getBlob(sha(bytes), 4))!)).toEqual([1, 2, 3, 4]);
    const key = [...cache.map.keys()][0]!;
    cache.map.set(key, new Uint8Array([1, 2, 3, 5]).buffer);
    expect(await store.getBlob(sha(bytes), 4)).toBeUndefined();
    expect(cache.map.has(key)).toBe(false);
  });

  it('a full quota is a QuotaExceededError and leaves nothing half-stored', async () => {
    const cache = new MemoryCache();
    cache.quota = 3;
    vi.stubGlobal('caches', { open: async () => cache });
    const store = new ModelStore('t');
    const bytes = new Uint8Array([1, 2, 3, 4]);
    await expect(store.putBlob(sha(bytes), bytes)).rejects.toMatchObject({ name: 'QuotaExceededError', fields: { bytes: 4 } });
    expect(cache.map.size).toBe(0);
  });

  it('runs without a Cache API (returns nothing, stores nothing)', async () => {
    vi.stubGlobal('caches', undefined);
    const store = new ModelStore('t');
    expect(await store.available()).toBe(false);
    expect(await store.putBlob('0'.repeat(64), new Uint8Array(1))).toBe(false);
    expect(await store.getDoc('http://x')).toBeUndefined();
  });
});

describe('Loader', () => {
  const index = {
    schema: 'webinfer.model-index/v1',
    id: 'm',
    task: 'image-classification',
    versions: [{ version: '1.0.0', publishedAt: '2025-01-01T00:00:00.000Z' }],
    aliases: { stable: '1.0.0' },
  };
  const manifest = {
    schema: 'webinfer.manifest/v1',
    id: 'm',
    version: '1.0.0',
    task: 'image-classification',
    format: 'tfjs-layers',
    createdAt: '2025-01-01T00:00:00.000Z',
    variants: { float32: { entry: 'model.json', files: [{ path: 'model.json', size: 2, sha256: 'a'.repeat(64) }] } },
    preprocess: { width: 1, height: 1, channels: 1 },
    labels: ['x'],
  };
  const routed = (routes: Record<string, unknown>): void => {
    vi.stubGlobal('caches', undefined);
    vi.stubGlobal('fetch', async (url: string) => {
      const path = url.replace('http://r/', '');
      return path in routes ? new Response(JSON.stringify(routes[path])) : new Response('', { status: 404 });
    });
  };

  it('a blob the registry does not have is a ManifestError naming the missing blob', async () => {
    routed({ 'v1/models/m/index.json': index, 'v1/models/m/versions/1.0.0.json': manifest });
    const loader = new Loader('http://r', opts, new ModelStore('t'));
    await expect(loader.load('m@stable', 'float32', never, () => undefined)).rejects.toMatchObject({ name: 'ManifestError', fields: { issues: ['missing blob'] } });
  });

  describe('a blob whose bytes do not match', () => {
    const good = new TextEncoder().encode('{"real":"model"}');
    const bad = new TextEncoder().encode('{"rotten":"bit"}');
    const m = (bytes: Uint8Array) => ({ ...manifest, variants: { float32: { entry: 'model.json', files: [{ path: 'model.json', size: bytes.byteLength, sha256: sha(bytes) }] } } });
    /** The registry: documents, then the blob answered per `cache` mode by `blob`. */
    const serve = (blob: (mode: RequestCache | undefined) => Uint8Array) => {
      const modes: Array<RequestCache | undefined> = [];
      vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
        const path = url.replace('http://r/', '');
        if (path === 'v1/models/m/versions/1.0.0.json') return new Response(JSON.stringify(m(good)));
        if (path.startsWith('v1/blobs/')) {
          modes.push(init?.cache);
          return new Response(blob(init?.cache) as Uint8Array<ArrayBuffer>);
        }
        return new Response('', { status: 404 });
      });
      return modes;
    };

    it('is fetched again past the HTTP cache (reload, then no-store) and the good bytes are used and cached', async () => {
      const cache = new MemoryCache();
      vi.stubGlobal('caches', { open: async () => cache });
      // A browser/CDN cache holding corrupt bytes: only a request that bypasses it gets the repaired file.
      const modes = serve((mode) => (mode === 'no-store' ? good : bad));
      const loader = new Loader('http://r', { retries: 0, timeoutMs: 1000 }, new ModelStore('t'));
      const files = await loader.load('m@1.0.0', 'float32', never, () => undefined);
      expect(new TextDecoder().decode(files.files.get('model.json'))).toBe('{"real":"model"}');
      expect(modes).toEqual(['default', 'reload', 'no-store']);
      const stored = [...cache.map.entries()].filter(([k]) => k.includes('/sha256/'));
      expect(stored.map(([, v]) => new TextDecoder().decode(v))).toEqual(['{"real":"model"}']);
    });

    it('a reload that brings good bytes stops there', async () => {
      vi.stubGlobal('caches', undefined);
      const modes = serve((mode) => (mode === 'default' ? bad : good));
      const loader = new Loader('http://r', { retries: 0, timeoutMs: 1000 }, new ModelStore('t'));
      await loader.load('m@1.0.0', 'float32', never, () => undefined);
      expect(modes).toEqual(['default', 'reload']);
    });

    it('bad bytes every time: an IntegrityError, and nothing of them is stored', async () => {
      const cache = new MemoryCache();
      vi.stubGlobal('caches', { open: async () => cache });
      const modes = serve(() => bad);
      const loader = new Loader('http://r', { retries: 0, timeoutMs: 1000 }, new ModelStore('t'));
      await expect(loader.load('m@1.0.0', 'float32', never, () => undefined)).rejects.toMatchObject({
        name: 'IntegrityError',
        fields: { file: 'model.json', expected: `sha256:${sha(good)}`, actual: `sha256:${sha(bad)}` },
      });
      expect(modes).toEqual(['default', 'reload', 'no-store']);
      expect([...cache.map.keys()].filter((k) => k.includes('/sha256/'))).toEqual([]);
    });

    it('too many bytes is retried the same way', async () => {
      vi.stubGlobal('caches', undefined);
      const modes = serve((mode) => (mode === 'reload' ? good : new Uint8Array(good.byteLength + 10)));
      const loader = new Loader('http://r', { retries: 0, timeoutMs: 1000 }, new ModelStore('t'));
      await loader.load('m@1.0.0', 'float32', never, () => undefined);
      expect(modes).toEqual(['default', 'reload']);
    });
  });

  describe('immutable versions and pinned manifests', () => {
    const v1 = JSON.stringify(manifest);
    const rewritten = JSON.stringify({ ...manifest, labels: ['attacker'] });
    /** Serves `doc()` as m@1.0.0's manifest. */
    const serveManifest = (doc: () => string) =>
      vi.stubGlobal('fetch', async (url: string) =>
        url === 'http://r/v1/models/m/versions/1.0.0.json' ? new Response(doc()) : new Response('', { status: 404 }),
      );
    const sri = (text: string) => `sha256-${createHash('sha256').update(text).digest('base64')}`;

    it('a version whose manifest changed since this client saw it is refused (immutable-violated), also after a restart', async () => {
      const cache = new MemoryCache();
      vi.stubGlobal('caches', { open: async () => cache });
      let doc = v1;
      serveManifest(() => doc);
      const first = new Loader('http://r', opts, new ModelStore('t'));
      const r = await first.resolve('m@1.0.0', never);
      expect(r.integrity).toBe(sri(v1));
      doc = rewritten;
      await expect(first.resolve('m@1.0.0', never)).rejects.toMatchObject({ name: 'ManifestError', fields: { reason: 'immutable-violated', issues: [`was ${sri(v1)}`, `now ${sri(rewritten)}`] } });
      // A new worker (a page reload) remembers through the Cache API.
      const second = new Loader('http://r', opts, new ModelStore('t'));
      await expect(second.resolve('m@1.0.0', never)).rejects.toMatchObject({ fields: { reason: 'immutable-violated' } });
      // The refused manifest was not remembered: the original still loads.
      doc = v1;
      expect((await second.resolve('m@1.0.0', never)).manifest.labels).toEqual(['x']);
    });

    it('without a Cache API the worker still remembers for its lifetime', async () => {
      vi.stubGlobal('caches', undefined);
      let doc = v1;
      serveManifest(() => doc);
      const loader = new Loader('http://r', opts, new ModelStore('t'));
      await loader.resolve('m@1.0.0', never);
      doc = rewritten;
      await expect(loader.resolve('m@1.0.0', never)).rejects.toMatchObject({ fields: { reason: 'immutable-violated' } });
    });

    it('integrity pins the manifest bytes: a match loads, anything else is integrity-mismatch', async () => {
      vi.stubGlobal('caches', undefined);
      serveManifest(() => rewritten);
      const loader = new Loader('http://r', opts, new ModelStore('t'));
      await expect(loader.resolve('m@1.0.0', never, { integrity: sri(v1) })).rejects.toMatchObject({ name: 'ManifestError', fields: { reason: 'integrity-mismatch' } });
      expect((await loader.resolve('m@1.0.0', never, { integrity: sri(rewritten) })).manifest.labels).toEqual(['attacker']);
    });
  });

  describe('signed manifests (trust.keys)', () => {
    const text = JSON.stringify(manifest);
    const bytes = new TextEncoder().encode(text);
    const sri = `sha256-${createHash('sha256').update(text).digest('base64')}`;
    const pair = () => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const key = `ed25519:${Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url').toString('base64')}`;
      return { key, sign: (b: Uint8Array) => cryptoSign(null, b, privateKey).toString('base64') };
    };
    const trusted = pair();
    const other = pair();
    /** Serves m@1.0.0's manifest and, unless undefined, its signatures document. */
    const serveSigned = (manifestText: string, sigs: unknown) => {
      vi.stubGlobal('caches', undefined);
      vi.stubGlobal('fetch', async (url: string) => {
        if (url === 'http://r/v1/models/m/versions/1.0.0.json') return new Response(manifestText);
        if (url === 'http://r/v1/models/m/versions/1.0.0.sig.json' && sigs !== undefined) return new Response(JSON.stringify(sigs));
        return new Response('', { status: 404 });
      });
    };
    const sigDoc = (signatures: Array<{ key: string; sig: string }>, m = sri) => ({ schema: 'webinfer.signatures/v1', manifest: m, signatures });

    it('a manifest signed by a trusted key loads (WebCrypto Ed25519)', async () => {
      serveSigned(text, sigDoc([{ key: other.key, sig: other.sign(bytes) }, { key: trusted.key, sig: trusted.sign(bytes) }]));
      const loader = new Loader('http://r', opts, new ModelStore('t'), [trusted.key]);
      expect((await loader.resolve('m@1.0.0', never)).manifest.id).toBe('m');
    });

    it('unsigned, signed by another key, or a wrong signature: ManifestError with the reason', async () => {
      const loader = () => new Loader('http://r', opts, new ModelStore('t'), [trusted.key]);
      serveSigned(text, undefined);
      await expect(loader().resolve('m@1.0.0', never)).rejects.toMatchObject({ name: 'ManifestError', fields: { reason: 'unsigned' } });
      serveSigned(text, sigDoc([{ key: other.key, sig: other.sign(bytes) }]));
      await expect(loader().resolve('m@1.0.0', never)).rejects.toMatchObject({ fields: { reason: 'untrusted-key' } });
      // The registry changed the manifest and kept the old signature (and its hash).
      const changed = JSON.stringify({ ...manifest, labels: ['attacker'] });
      serveSigned(changed, sigDoc([{ key: trusted.key, sig: trusted.sign(bytes) }]));
      await expect(loader().resolve('m@1.0.0', never)).rejects.toMatchObject({ fields: { reason: 'bad-signature' } });
      // …and with the new hash but the old signature.
      const changedSri = `sha256-${createHash('sha256').update(changed).digest('base64')}`;
      serveSigned(changed, sigDoc([{ key: trusted.key, sig: trusted.sign(bytes) }], changedSri));
      await expect(loader().resolve('m@1.0.0', never)).rejects.toMatchObject({ fields: { reason: 'bad-signature' } });
      // A signatures document that is not one.
      serveSigned(text, { nope: true });
      await expect(loader().resolve('m@1.0.0', never)).rejects.toMatchObject({ fields: { reason: 'bad-signature' } });
    });

    it('a trusted key the model index lists as revoked no longer counts (revoked-key); another trusted live signature does', async () => {
      const revokedIndex = { ...index, keys: [{ key: trusted.key, revokedAt: '2025-06-01T00:00:00.000Z' }, { key: other.key }] };
      const serve = (sigs: unknown) => {
        vi.stubGlobal('caches', undefined);
        vi.stubGlobal('fetch', async (url: string) => {
          if (url === 'http://r/v1/models/m/versions/1.0.0.json') return new Response(text);
          if (url === 'http://r/v1/models/m/versions/1.0.0.sig.json') return new Response(JSON.stringify(sigs));
          if (url === 'http://r/v1/models/m/index.json') return new Response(JSON.stringify(revokedIndex));
          return new Response('', { status: 404 });
        });
      };
      serve(sigDoc([{ key: trusted.key, sig: trusted.sign(bytes) }]));
      const err = await new Loader('http://r', opts, new ModelStore('t'), [trusted.key]).resolve('m@1.0.0', never).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'ManifestError', fields: { reason: 'revoked-key' } });
      expect((err as Error).message).toContain('revoked 2025-06-01');
      // Re-signed by a live key the client also trusts: loads.
      serve(sigDoc([{ key: trusted.key, sig: trusted.sign(bytes) }, { key: other.key, sig: other.sign(bytes) }]));
      expect((await new Loader('http://r', opts, new ModelStore('t'), [trusted.key, other.key]).resolve('m@1.0.0', never)).manifest.id).toBe('m');
    });

    it('without trusted keys nothing is fetched or checked', async () => {
      serveSigned(text, undefined);
      expect((await new Loader('http://r', opts, new ModelStore('t')).resolve('m@1.0.0', never)).manifest.id).toBe('m');
    });
  });

  it('an unknown model or version is a ModelNotFoundError', async () => {
    routed({ 'v1/models/m/index.json': index });
    const loader = new Loader('http://r', opts, new ModelStore('t'));
    await expect(loader.resolve('nope', never)).rejects.toMatchObject({ name: 'ModelNotFoundError', fields: { model: 'nope' } });
    await expect(loader.resolve('m@1.0.0', never)).rejects.toMatchObject({ name: 'ModelNotFoundError', fields: { model: 'm', version: '1.0.0' } });
  });
});
