import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, REGISTRY_ROOT, registryUrl, test } from './fixtures.js';

/** The tiny-cnn@1.0.0 float32 files as published. */
function tinyFiles(): { path: string; sha256: string; size: number }[] {
  const m = JSON.parse(readFileSync(path.join(REGISTRY_ROOT, 'v1/models/tiny-cnn/versions/1.0.0.json'), 'utf8'));
  return m.variants.float32.files;
}
const weightsHash = (): string => tinyFiles().find((f) => f.path.endsWith('.bin'))!.sha256;

test('a second load, after a page reload too, makes no blob requests', async ({ open, registry }) => {
  const page = await open();
  const load = (): Promise<{ downloadedBytes: number; cached: boolean }> =>
    page.evaluate(async (registry) => {
      const client = window.webinfer.createClient({ registry, backend: 'wasm' });
      const model = await client.load('tiny-cnn@stable', { task: 'image-classification' });
      const r = { downloadedBytes: model.info.downloadedBytes, cached: model.info.cached };
      await client.dispose();
      return r;
    }, registryUrl(registry));
  const first = await load();
  expect(first.cached).toBe(true);
  expect(first.downloadedBytes).toBe(tinyFiles().reduce((s, f) => s + f.size, 0));
  expect(registry.blobHits()).toBe(tinyFiles().length);
  await load();
  expect(registry.blobHits()).toBe(tinyFiles().length);
  await page.reload();
  await page.waitForFunction(() => window.harnessReady === true);
  const third = await load();
  expect(third.downloadedBytes).toBe(0);
  expect(registry.blobHits()).toBe(tinyFiles().length);
});

test('concurrent loads of one model share one download per file', async ({ open, registry }) => {
  const page = await open();
  registry.faults.slowMs = 5;
  registry.faults.slowChunk = 2048;
  const versions = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const models = await Promise.all([client.load('tiny-cnn@stable'), client.load('tiny-cnn@1.0.0'), client.load('tiny-cnn')]);
    const v = models.map((m) => m.version);
    await client.dispose();
    return v;
  }, registryUrl(registry));
  expect(versions).toEqual(['1.0.0', '1.0.0', '1.0.0']);
  for (const f of tinyFiles()) expect(registry.hits.get(`v1/blobs/sha256/${f.sha256}`), f.path).toBe(1);
});

test('a corrupted download fails with IntegrityError and nothing is cached', async ({ open, registry }) => {
  const page = await open();
  registry.faults.corrupt.add(weightsHash());
  const bad = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', retries: 0 });
    const r = await window.util.attempt(() => client.load('tiny-cnn@stable'));
    await client.dispose();
    return r;
  }, registryUrl(registry));
  expect(bad.ok).toBe(false);
  if (bad.ok) return;
  expect(bad.error).toMatchObject({ name: 'IntegrityError', code: 'INTEGRITY', isWebInferError: true, instanceOfOwnClass: true });
  expect(bad.error.fields).toMatchObject({ expected: `sha256:${weightsHash()}` });
  expect(String(bad.error.fields?.['actual'])).not.toBe(`sha256:${weightsHash()}`);
  // The bad bytes were not cached: once the server is fixed, the file is fetched again and the load works.
  registry.faults.corrupt.clear();
  const before = registry.hits.get(`v1/blobs/sha256/${weightsHash()}`) ?? 0;
  const good = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const m = await client.load('tiny-cnn@stable', { task: 'image-classification' });
    const r = m.info.downloadedBytes;
    await client.dispose();
    return r;
  }, registryUrl(registry));
  expect(good).toBeGreaterThan(0);
  expect(registry.hits.get(`v1/blobs/sha256/${weightsHash()}`)).toBe(before + 1);
});

test('a corrupted cache entry is detected and fetched again', async ({ open, registry }) => {
  const page = await open();
  const hash = weightsHash();
  const r = await page.evaluate(
    async ({ registry, hash }) => {
      const load = async (): Promise<number> => {
        const client = window.webinfer.createClient({ registry, backend: 'wasm' });
        const m = await client.load('tiny-cnn@stable', { task: 'image-classification' });
        const d = m.info.downloadedBytes;
        await client.dispose();
        return d;
      };
      const first = await load();
      const cache = await caches.open('webinfer-v1');
      const key = `https://webinfer.cache/sha256/${hash}`;
      const had = (await cache.match(key)) !== undefined;
      await cache.put(key, new Response(new Uint8Array([1, 2, 3])));
      const second = await load();
      const repaired = new Uint8Array(await (await cache.match(key))!.arrayBuffer()).byteLength;
      return { first, second, had, repaired };
    },
    { registry: registryUrl(registry), hash },
  );
  expect(r.had).toBe(true);
  expect(r.first).toBeGreaterThan(0);
  const size = tinyFiles().find((f) => f.sha256 === hash)!.size;
  expect(r.second).toBe(size);
  expect(r.repaired).toBe(size);
});

test('abort mid-download rejects with AbortError promptly, and the client still works', async ({ open, registry }) => {
  const page = await open();
  registry.faults.slowMs = 100;
  registry.faults.slowChunk = 1024;
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    await client.ready();
    const ac = new AbortController();
    let firstBytesAt = 0;
    const started = performance.now();
    const attempt = window.util.attempt(() =>
      client.load('tiny-cnn@stable', {
        signal: ac.signal,
        onProgress: (p) => {
          if (p.loaded > 0 && p.loaded < p.total && firstBytesAt === 0) {
            firstBytesAt = performance.now() - started;
            ac.abort();
          }
        },
      }),
    );
    const result = await attempt;
    const abortedAfterMs = performance.now() - started;
    return { result, firstBytesAt, abortedAfterMs };
  }, registryUrl(registry));
  expect(r.result.ok).toBe(false);
  if (r.result.ok) return;
  expect(r.result.error).toMatchObject({ name: 'AbortError', code: 'ABORTED', instanceOfOwnClass: true });
  expect(r.firstBytesAt).toBeGreaterThan(0);
  // Far less than the ~3 s the slowed download would take.
  expect(r.abortedAfterMs - r.firstBytesAt).toBeLessThan(1000);
  registry.faults.slowMs = 0;
  const ok = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const m = await client.load('tiny-cnn@stable', { task: 'image-classification' });
    const top = await m.classify({ data: new Uint8Array(784), width: 28, height: 28, channels: 1 }, { topK: 1 });
    await client.dispose();
    return top.length;
  }, registryUrl(registry));
  expect(ok).toBe(1);
});

test('an already-aborted signal rejects at once', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const ac = new AbortController();
    ac.abort();
    const res = await window.util.attempt(() => client.load('tiny-cnn', { signal: ac.signal }));
    await client.dispose();
    return res;
  }, registryUrl(registry));
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.error.name).toBe('AbortError');
});

test('with the registry down, a model loaded before still loads (cached manifest, no network)', async ({ open, registry }) => {
  const page = await open();
  const load = (): Promise<{ ok: true; value: { offline: boolean; version: string; warnings: readonly string[] } } | { ok: false; error: unknown }> =>
    page.evaluate(async (registry) => {
      const client = window.webinfer.createClient({ registry, backend: 'wasm', retries: 1 });
      const r = await window.util.attempt(async () => {
        const m = await client.load('tiny-cnn@stable', { task: 'image-classification' });
        await m.classify({ data: new Uint8Array(784), width: 28, height: 28, channels: 1 });
        return { offline: m.info.offline, version: m.info.version, warnings: m.info.warnings };
      });
      await client.dispose();
      return r;
    }, registryUrl(registry));
  const warm = await load();
  expect(warm.ok && warm.value.offline).toBe(false);
  registry.faults.down = true;
  await page.reload();
  await page.waitForFunction(() => window.harnessReady === true);
  const offline = await load();
  expect(offline).toMatchObject({ ok: true, value: { offline: true, version: '1.0.0' } });
});

test('with the registry down and a cold cache, load fails with RegistryUnavailableError after bounded retries', async ({ open, registry }) => {
  const page = await open();
  registry.faults.down = true;
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', retries: 2 });
    await client.ready();
    const t0 = performance.now();
    const res = await window.util.attempt(() => client.load('emotion'));
    const ms = performance.now() - t0;
    await client.dispose();
    return { res, ms };
  }, registryUrl(registry));
  expect(r.res.ok).toBe(false);
  if (!r.res.ok) expect(r.res.error).toMatchObject({ name: 'RegistryUnavailableError', code: 'REGISTRY_UNAVAILABLE' });
  expect(registry.hits.get('v1/models/emotion/index.json')).toBe(3);
  expect(r.ms).toBeLessThan(10_000);
});

test('server errors (503) are retried with backoff and the load succeeds', async ({ open, registry }) => {
  const page = await open();
  registry.faults.fail503 = 2;
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', retries: 3 });
    const res = await window.util.attempt(async () => (await client.load('tiny-cnn')).version);
    await client.dispose();
    return res;
  }, registryUrl(registry));
  expect(r).toEqual({ ok: true, value: '1.0.0' });
  expect(registry.hits.get('v1/models/tiny-cnn/index.json')).toBe(3);
});
