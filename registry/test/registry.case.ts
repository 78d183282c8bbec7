/**
 * The conformance suite of the `Registry` interface, after hono's router suite
 * (`src/router/common.case.test.ts`, `runTest({ skip, newRouter })`): one set of cases, run by
 * `registry-conformance.test.ts` against every implementation, asserting the same values and the
 * same error codes. An implementation leaves a case (or a whole group) out only through `skip`,
 * with its reason; a skip entry that names no case is an error.
 *
 * Every registry the factory opens is seeded the same way (`seed()` in helpers/registry.ts):
 * tiny-cnn 1.0.0 (2025-01-01, alias stable) and 1.1.0 (2025-02-01, latest).
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { paths } from 'webinfer/protocol';
import { prepareVersion, type PublishProgress } from '../src/publish.js';
import type { Registry } from '../src/registry.js';
import { RegistryStoreError, type RegistryErrorCode } from '../src/store.js';
import { sha256, tempDir, TINY, tinyCard } from './helpers/registry.js';

/** A registry under test, with the directory whose tree it reads (to plant files), and its teardown. */
export interface RegistryFixture {
  registry: Registry;
  /** The tree on disk: the root (local, service) or the directory the static host serves. */
  dir: string;
  close(): Promise<void>;
}

export interface RegistryCaseOptions {
  /** The implementation, in the suite's title. */
  name: string;
  /**
   * A fresh registry of the implementation, seeded with tiny-cnn 1.0.0 (stable) and 1.1.0 (latest).
   * Writers must be opened with a short lock timeout (a few hundred ms) for the LOCKED case.
   */
  open: () => Promise<RegistryFixture>;
  /** A read-only registry serving an exported tree (the static host), to read an export back. */
  serveStatic: (dir: string) => Promise<RegistryFixture>;
  /** Cases (`group > case`) or whole groups (`group`) this implementation leaves out, with the reason. */
  skip?: ReadonlyArray<{ reason: string; tests: readonly string[] }>;
}

/** Files of models/tiny-cnn as the registry must describe them. */
async function tinyFiles(): Promise<Array<{ path: string; size: number; sha256: string; bytes: Buffer }>> {
  return Promise.all(
    ['model.json', 'group1-shard1of1.bin'].map(async (p) => {
      const bytes = await readFile(path.join(TINY, p));
      return { path: p, size: bytes.length, sha256: sha256(bytes), bytes };
    }),
  );
}

/** The `code` a promise rejects with; fails unless it is a RegistryStoreError (the one error type of every implementation). */
async function codeOf(p: Promise<unknown>): Promise<RegistryErrorCode> {
  return (await errorOf(p)).code;
}
async function errorOf(p: Promise<unknown>): Promise<RegistryStoreError> {
  let settled: unknown;
  try {
    settled = await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryStoreError);
    if (e instanceof RegistryStoreError) return e;
    throw e;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(settled)}`);
}

const SEED_1_0 = '2025-01-01T00:00:00.000Z';
const SEED_1_1 = '2025-02-01T00:00:00.000Z';

export function runRegistryCases(opts: RegistryCaseOptions): void {
  const skips = opts.skip ?? [];
  const used = new Set<string>();
  /**
   * `it`, unless the implementation excludes the case: an excluded case is not registered at all
   * (no silently skipped test in CI); its reason stays in the caller's `skip` list, and an entry
   * there that names no case fails the run.
   */
  const test = (group: string, name: string, fn: () => Promise<void>): void => {
    const full = `${group} > ${name}`;
    const s = skips.find((x) => x.tests.some((t) => t === full || t === group));
    if (s) {
      for (const t of s.tests) if (t === full || t === group) used.add(t);
    } else {
      it(name, fn);
    }
  };

  /** `describe`, unless the implementation excludes the whole group (then nothing of it is registered). */
  const group = (name: string, fn: () => void): void => {
    const s = skips.find((x) => x.tests.includes(name));
    if (s) used.add(name);
    else describe(name, fn);
  };

  describe(`Registry conformance: ${opts.name}`, () => {
    let f: RegistryFixture;
    let reg: Registry;
    let tmp: string;
    let cleanup: () => Promise<void>;
    let files: Awaited<ReturnType<typeof tinyFiles>>;
    let card: Record<string, unknown>;
    let n = 0;
    const scratch = (name: string): string => path.join(tmp, `${++n}-${name}`);

    beforeAll(async () => {
      ({ dir: tmp, cleanup } = await tempDir('webinfer-conformance-'));
      files = await tinyFiles();
      card = await tinyCard();
    });
    afterAll(async () => {
      await cleanup?.();
      const unused = skips.flatMap((s) => s.tests).filter((t) => !used.has(t));
      if (unused.length > 0) throw new Error(`skip names no case: ${unused.join(', ')}`);
    });
    beforeEach(async () => {
      f = await opts.open();
      reg = f.registry;
    });
    afterEach(async () => {
      await f?.close();
    });

    /** tiny-cnn's files with new random weights: a model whose shard no registry has yet. */
    async function freshModel(): Promise<{ dir: string; shard: Buffer }> {
      const dir = scratch('model');
      await cp(TINY, dir, { recursive: true });
      const shard = randomBytes(27240);
      await writeFile(path.join(dir, 'group1-shard1of1.bin'), shard);
      return { dir, shard };
    }

    group('reads', () => {
      test('reads', 'catalog lists the models with their aliases and live versions', async () => {
        const c = await reg.catalog();
        expect(c.schema).toBe('webinfer.catalog/v1');
        expect(c.models.map((m) => m.id)).toEqual(['tiny-cnn']);
        expect(c.models[0]).toMatchObject({
          id: 'tiny-cnn',
          task: 'image-classification',
          description: card['description'],
          aliases: { latest: '1.1.0', stable: '1.0.0' },
          versions: ['1.0.0', '1.1.0'],
        });
      });

      test('reads', 'index has the versions, aliases and history, and an ETag that holds while nothing changes', async () => {
        const { index, etag } = await reg.index('tiny-cnn');
        const size = files.reduce((s, x) => s + x.size, 0);
        expect(size).toBe(29087);
        expect(index).toMatchObject({
          schema: 'webinfer.model-index/v1',
          id: 'tiny-cnn',
          task: 'image-classification',
          versions: [
            { version: '1.0.0', publishedAt: SEED_1_0, yanked: false, size },
            { version: '1.1.0', publishedAt: SEED_1_1, yanked: false, size },
          ],
          aliases: { latest: '1.1.0', stable: '1.0.0' },
          history: {
            latest: [
              { version: '1.0.0', at: SEED_1_0 },
              { version: '1.1.0', at: SEED_1_1 },
            ],
            stable: [{ version: '1.0.0', at: SEED_1_0 }],
          },
        });
        expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
        expect((await reg.index('tiny-cnn')).etag).toBe(etag);
      });

      test('reads', 'manifest has the published fields and the files with their sizes and hashes', async () => {
        const m = await reg.manifest('tiny-cnn', '1.0.0');
        expect(m).toMatchObject({
          schema: 'webinfer.manifest/v1',
          id: 'tiny-cnn',
          version: '1.0.0',
          task: 'image-classification',
          format: 'tfjs-layers',
          createdAt: SEED_1_0,
          description: card['description'],
          labels: card['labels'],
          license: 'MIT',
          output: 'probabilities',
        });
        expect(m.variants.float32.entry).toBe('model.json');
        expect(m.variants.float32.files).toEqual(files.map(({ path: p, size, sha256: h }) => ({ path: p, size, sha256: h })));
        expect((await reg.manifest('tiny-cnn', '1.1.0')).createdAt).toBe(SEED_1_1);
      });

      test('reads', 'resolve: a bare id means stable, an alias its target, a pinned version itself', async () => {
        expect(await reg.resolve('tiny-cnn')).toMatchObject({ id: 'tiny-cnn', version: '1.0.0' });
        expect((await reg.resolve('tiny-cnn@stable')).version).toBe('1.0.0');
        expect((await reg.resolve('tiny-cnn@latest')).version).toBe('1.1.0');
        expect((await reg.resolve('tiny-cnn@1.1.0')).version).toBe('1.1.0');
        const viaRef = await reg.resolve({ id: 'tiny-cnn', kind: 'alias', alias: 'latest' });
        expect(viaRef.version).toBe('1.1.0');
        expect(viaRef.manifest).toEqual(await reg.manifest('tiny-cnn', '1.1.0'));
      });

      test('reads', 'hasBlob is true for every file of a manifest, false for an unknown hash', async () => {
        for (const x of files) expect(await reg.hasBlob(x.sha256), x.path).toBe(true);
        expect(await reg.hasBlob(sha256('not in the registry'))).toBe(false);
      });

      test('reads', 'readBlob returns the bytes of the published files', async () => {
        for (const x of files) {
          const bytes = await reg.readBlob(x.sha256);
          expect(bytes).toBeInstanceOf(Uint8Array);
          expect(sha256(bytes)).toBe(x.sha256);
          expect(Buffer.from(bytes).equals(x.bytes), x.path).toBe(true);
        }
      });

      test('reads', 'readBlob refuses bytes that do not hash to their name (HASH_MISMATCH)', async () => {
        // A blob file whose content is not what its name says (disk corruption, a tampering host).
        const named = sha256(`genuine ${randomBytes(8).toString('hex')}`);
        await mkdir(path.join(f.dir, 'v1/blobs/sha256'), { recursive: true });
        await writeFile(path.join(f.dir, paths.blob(named)), 'tampered');
        const e = await errorOf(reg.readBlob(named));
        expect(e.code).toBe('HASH_MISMATCH');
        expect(e.message).toContain(named);
      });

      test('reads', 'a missing model is NOT_FOUND for index, manifest and resolve', async () => {
        expect(await codeOf(reg.index('nope'))).toBe('NOT_FOUND');
        expect(await codeOf(reg.manifest('nope', '1.0.0'))).toBe('NOT_FOUND');
        expect(await codeOf(reg.resolve('nope'))).toBe('NOT_FOUND');
        expect(await codeOf(reg.resolve('nope@stable'))).toBe('NOT_FOUND');
      });

      test('reads', 'a missing version, alias or blob is NOT_FOUND, and the message names it', async () => {
        expect(await codeOf(reg.manifest('tiny-cnn', '9.9.9'))).toBe('NOT_FOUND');
        const version = await errorOf(reg.resolve('tiny-cnn@9.9.9'));
        expect(version.code).toBe('NOT_FOUND');
        expect(version.message).toBe('model "tiny-cnn" has no version 9.9.9');
        const alias = await errorOf(reg.resolve('tiny-cnn@canary'));
        expect(alias.code).toBe('NOT_FOUND');
        expect(alias.message).toBe('model "tiny-cnn" has no alias "canary"');
        expect(await codeOf(reg.readBlob(sha256('not in the registry')))).toBe('NOT_FOUND');
      });

      test('reads', 'malformed ids, versions, references and hashes are INVALID', async () => {
        expect(await codeOf(reg.index('Bad'))).toBe('INVALID');
        expect(await codeOf(reg.index('../x'))).toBe('INVALID');
        expect(await codeOf(reg.manifest('tiny-cnn', '1.0'))).toBe('INVALID');
        expect(await codeOf(reg.resolve('tiny-cnn@Bad!'))).toBe('INVALID');
        expect(await codeOf(reg.resolve('Tiny'))).toBe('INVALID');
        expect(await codeOf(reg.hasBlob('abc'))).toBe('INVALID');
        expect(await codeOf(reg.readBlob('A'.repeat(64)))).toBe('INVALID');
      });

      test('reads', 'exportStatic writes a tree that the static host serves back identically', async () => {
        const out = scratch('www');
        expect(await reg.exportStatic(out)).toEqual({ models: 1, manifests: 2, blobs: 2, bytes: 29087 });
        const back = await opts.serveStatic(out);
        try {
          const r = back.registry;
          expect(await r.catalog()).toEqual(await reg.catalog());
          expect((await r.index('tiny-cnn')).index).toEqual((await reg.index('tiny-cnn')).index);
          for (const v of ['1.0.0', '1.1.0']) expect(await r.manifest('tiny-cnn', v)).toEqual(await reg.manifest('tiny-cnn', v));
          expect((await r.resolve('tiny-cnn')).version).toBe('1.0.0');
          for (const x of files) expect(Buffer.from(await r.readBlob(x.sha256)).equals(x.bytes)).toBe(true);
        } finally {
          await back.close();
        }
      });
    });

    group('writes', () => {
      test('writes', 'publish adds a version with its aliases; reads see it and the ETag changes', async () => {
        const before = (await reg.index('tiny-cnn')).etag;
        const prepared = await prepareVersion({ modelDir: TINY, id: 'tiny-cnn', version: '1.2.0', aliases: ['beta'], card, now: new Date('2025-03-01T00:00:00Z') });
        const r = await reg.publish(prepared);
        expect(r.manifest).toMatchObject({ id: 'tiny-cnn', version: '1.2.0', createdAt: '2025-03-01T00:00:00.000Z' });
        expect(r.index.aliases).toEqual({ beta: '1.2.0', latest: '1.2.0', stable: '1.0.0' });
        expect(r.index.versions.map((v) => v.version)).toEqual(['1.0.0', '1.1.0', '1.2.0']);
        expect(r.uploaded).toBe(0); // every blob was there already
        expect(r.etag).not.toBe(before);
        expect((await reg.index('tiny-cnn')).etag).toBe(r.etag);
        expect((await reg.resolve('tiny-cnn@beta')).version).toBe('1.2.0');
        expect((await reg.resolve('tiny-cnn@latest')).version).toBe('1.2.0');
        expect(await reg.manifest('tiny-cnn', '1.2.0')).toEqual(r.manifest);
        expect((await reg.catalog()).models[0]).toMatchObject({ aliases: { beta: '1.2.0', latest: '1.2.0', stable: '1.0.0' }, versions: ['1.0.0', '1.1.0', '1.2.0'] });
      });

      test('writes', 'publish stores the blobs the registry lacks, reporting progress, then commits', async () => {
        const { dir, shard } = await freshModel();
        const prepared = await prepareVersion({ modelDir: dir, id: 'fresh-cnn', version: '1.0.0', aliases: ['stable'], card });
        const events: PublishProgress[] = [];
        const r = await reg.publish(prepared, { onProgress: (p) => void events.push(p) });
        expect(r.uploaded).toBe(1);
        const shardEvents = events.flatMap((e) => (e.phase === 'blob' && e.file === 'group1-shard1of1.bin' ? [e] : []));
        expect(shardEvents.length).toBeGreaterThan(0);
        expect(shardEvents.at(-1)).toMatchObject({ sha256: sha256(shard), loaded: 27240, total: 27240 });
        expect(events.at(-1)).toEqual({ phase: 'commit', id: 'fresh-cnn', version: '1.0.0' });
        expect(events.filter((e) => e.phase === 'commit')).toHaveLength(1);
        expect(await reg.hasBlob(sha256(shard))).toBe(true);
        expect(Buffer.from(await reg.readBlob(sha256(shard))).equals(shard)).toBe(true);
        expect((await reg.catalog()).models.map((m) => m.id)).toEqual(['fresh-cnn', 'tiny-cnn']);
        expect((await reg.resolve('fresh-cnn')).manifest.variants.float32.files[1]).toEqual({ path: 'group1-shard1of1.bin', size: 27240, sha256: sha256(shard) });
      });

      test('writes', 'publishing an existing version is EXISTS and changes nothing', async () => {
        const before = await reg.index('tiny-cnn');
        const prepared = await prepareVersion({ modelDir: TINY, id: 'tiny-cnn', version: '1.1.0', card: { ...card, description: 'changed' } });
        expect(await codeOf(reg.publish(prepared))).toBe('EXISTS');
        expect(await reg.index('tiny-cnn')).toEqual(before);
        expect((await reg.manifest('tiny-cnn', '1.1.0')).description).toBe(card['description']);
      });

      test('writes', 'a private model is listed as private and left out of an export unless includePrivate', async () => {
        const { dir } = await freshModel();
        const prepared = await prepareVersion({ modelDir: dir, id: 'secret-cnn', version: '1.0.0', card });
        await reg.publish(prepared, { private: true });
        expect((await reg.index('secret-cnn')).index['private']).toBe(true);
        const entry = (await reg.catalog()).models.find((m) => m.id === 'secret-cnn');
        expect(entry?.['private']).toBe(true);
        const out = scratch('www');
        expect(await reg.exportStatic(out)).toMatchObject({ models: 1, manifests: 2 });
        expect(await reg.exportStatic(scratch('www-all'), { includePrivate: true })).toMatchObject({ models: 2, manifests: 3, blobs: 3 });
        const back = await opts.serveStatic(out);
        try {
          expect((await back.registry.catalog()).models.map((m) => m.id)).toEqual(['tiny-cnn']);
          expect(await codeOf(back.registry.index('secret-cnn'))).toBe('NOT_FOUND');
        } finally {
          await back.close();
        }
      });

      test('writes', 'putBlobFile stores a file under its hash, idempotently; a wrong expected hash stores nothing (HASH_MISMATCH)', async () => {
        const bytes = randomBytes(1000);
        const file = scratch('blob.bin');
        await writeFile(file, bytes);
        const loaded: number[] = [];
        expect(await reg.putBlobFile(file, { onProgress: (x) => void loaded.push(x) })).toEqual({ sha256: sha256(bytes), size: 1000 });
        expect(loaded.at(-1)).toBe(1000);
        expect(await reg.putBlobFile(file, { sha256: sha256(bytes), size: 1000 })).toEqual({ sha256: sha256(bytes), size: 1000 });
        expect(await reg.hasBlob(sha256(bytes))).toBe(true);
        expect(Buffer.from(await reg.readBlob(sha256(bytes))).equals(bytes)).toBe(true);

        const other = scratch('other.bin');
        await writeFile(other, randomBytes(500));
        const claimed = sha256('something else');
        expect(await codeOf(reg.putBlobFile(other, { sha256: claimed }))).toBe('HASH_MISMATCH');
        expect(await reg.hasBlob(claimed)).toBe(false);
        expect(await reg.hasBlob(sha256(await readFile(other)))).toBe(false);
      });

      test('writes', 'promote with the current ETag moves the alias, records the history and changes the ETag', async () => {
        const { etag } = await reg.index('tiny-cnn');
        const r = await reg.promote('tiny-cnn', 'stable', '1.1.0', { ifMatch: etag });
        expect(r.change).toBe('stable: 1.0.0 -> 1.1.0');
        expect(r.index.aliases).toEqual({ latest: '1.1.0', stable: '1.1.0' });
        expect(r.index.history['stable']?.map((h) => h.version)).toEqual(['1.0.0', '1.1.0']);
        expect(r.etag).not.toBe(etag);
        expect((await reg.index('tiny-cnn')).etag).toBe(r.etag);
        expect((await reg.resolve('tiny-cnn')).version).toBe('1.1.0');
        expect((await reg.catalog()).models[0]?.aliases).toEqual({ latest: '1.1.0', stable: '1.1.0' });
      });

      test('writes', 'promote with a stale ifMatch is PRECONDITION and changes nothing', async () => {
        const { etag: stale } = await reg.index('tiny-cnn');
        const moved = await reg.promote('tiny-cnn', 'canary', '1.1.0', { ifMatch: stale });
        const e = await errorOf(reg.promote('tiny-cnn', 'stable', '1.1.0', { ifMatch: stale }));
        expect(e.code).toBe('PRECONDITION');
        const now = await reg.index('tiny-cnn');
        expect(now.etag).toBe(moved.etag);
        expect(now.index.aliases).toEqual({ canary: '1.1.0', latest: '1.1.0', stable: '1.0.0' });
      });

      test('writes', 'promote without ifMatch acts on the current index; to the current target it changes nothing', async () => {
        expect((await reg.promote('tiny-cnn', 'stable', '1.0.0')).change).toBe('stable: 1.0.0 (unchanged)');
        expect((await reg.promote('tiny-cnn', 'beta', '1.0.0')).change).toBe('beta: (none) -> 1.0.0');
        expect((await reg.index('tiny-cnn')).index.aliases).toEqual({ beta: '1.0.0', latest: '1.1.0', stable: '1.0.0' });
      });

      test('writes', 'promote refuses an unknown version or model (NOT_FOUND), latest and malformed names (INVALID)', async () => {
        const before = await reg.index('tiny-cnn');
        expect(await codeOf(reg.promote('tiny-cnn', 'stable', '9.9.9'))).toBe('NOT_FOUND');
        expect(await codeOf(reg.promote('nope', 'stable', '1.0.0'))).toBe('NOT_FOUND');
        expect(await codeOf(reg.promote('tiny-cnn', 'latest', '1.0.0'))).toBe('INVALID');
        expect(await codeOf(reg.promote('tiny-cnn', 'Stable', '1.0.0'))).toBe('INVALID');
        expect(await codeOf(reg.promote('tiny-cnn', 'stable', 'v1'))).toBe('INVALID');
        expect(await reg.index('tiny-cnn')).toEqual(before);
      });

      test('writes', 'rollback restores the previous target; a second rollback goes forward again', async () => {
        await reg.promote('tiny-cnn', 'stable', '1.1.0');
        const back = await reg.rollback('tiny-cnn', 'stable', { ifMatch: (await reg.index('tiny-cnn')).etag });
        expect(back.change).toBe('stable: 1.1.0 -> 1.0.0 (rollback)');
        expect(back.index.aliases['stable']).toBe('1.0.0');
        expect(back.index.history['stable']?.map((h) => h.version)).toEqual(['1.0.0', '1.1.0', '1.0.0']);
        expect((await reg.resolve('tiny-cnn@stable')).version).toBe('1.0.0');
        expect((await reg.index('tiny-cnn')).etag).toBe(back.etag);
        expect((await reg.rollback('tiny-cnn', 'stable')).change).toBe('stable: 1.0.0 -> 1.1.0 (rollback)');
        expect((await reg.resolve('tiny-cnn')).version).toBe('1.1.0');
      });

      test('writes', 'rollback with no previous target is CONFLICT, of an unknown alias NOT_FOUND, with a stale ifMatch PRECONDITION', async () => {
        expect(await codeOf(reg.rollback('tiny-cnn', 'stable'))).toBe('CONFLICT'); // seeded history: [1.0.0]
        expect(await codeOf(reg.rollback('tiny-cnn', 'canary'))).toBe('NOT_FOUND');
        expect(await codeOf(reg.rollback('nope', 'stable'))).toBe('NOT_FOUND');
        const { etag: stale } = await reg.index('tiny-cnn');
        await reg.promote('tiny-cnn', 'stable', '1.1.0');
        expect(await codeOf(reg.rollback('tiny-cnn', 'stable', { ifMatch: stale }))).toBe('PRECONDITION');
        expect((await reg.index('tiny-cnn')).index.aliases['stable']).toBe('1.1.0');
      });

      test('writes', 'a yanked version still resolves when pinned, is never chosen by an alias, and can be restored', async () => {
        const y = await reg.yank('tiny-cnn', '1.1.0');
        expect(y.change).toBe('1.1.0: yanked');
        expect(y.index.versions.find((v) => v.version === '1.1.0')?.yanked).toBe(true);
        expect(y.index.aliases).toEqual({ latest: '1.0.0', stable: '1.0.0' });
        expect((await reg.index('tiny-cnn')).etag).toBe(y.etag);
        expect((await reg.catalog()).models[0]?.versions).toEqual(['1.0.0']);
        expect((await reg.resolve('tiny-cnn@latest')).version).toBe('1.0.0');
        const pinned = await reg.resolve('tiny-cnn@1.1.0');
        expect(pinned.version).toBe('1.1.0');
        expect(pinned.manifest.createdAt).toBe(SEED_1_1);
        const refused = await errorOf(reg.promote('tiny-cnn', 'stable', '1.1.0'));
        expect(refused.code).toBe('CONFLICT');
        expect(refused.message).toContain('yanked');

        const u = await reg.yank('tiny-cnn', '1.1.0', { yanked: false });
        expect(u.change).toBe('1.1.0: restored');
        expect(u.index.aliases).toEqual({ latest: '1.1.0', stable: '1.0.0' });
        expect((await reg.catalog()).models[0]?.versions).toEqual(['1.0.0', '1.1.0']);
      });

      test('writes', 'yank refuses the target of an alias (CONFLICT) and an unknown version (NOT_FOUND)', async () => {
        const held = await errorOf(reg.yank('tiny-cnn', '1.0.0'));
        expect(held.code).toBe('CONFLICT');
        expect(held.message).toContain('stable');
        expect(await codeOf(reg.yank('tiny-cnn', '9.9.9'))).toBe('NOT_FOUND');
        expect(await codeOf(reg.yank('nope', '1.0.0'))).toBe('NOT_FOUND');
        expect((await reg.index('tiny-cnn')).index.versions.every((v) => !v.yanked)).toBe(true);
      });

      test('writes', 'gc spares young files, lists in a dry run, removes orphan blobs and never referenced ones', async () => {
        const orphan = randomBytes(300);
        const file = scratch('orphan.bin');
        await writeFile(file, orphan);
        const { sha256: h } = await reg.putBlobFile(file);
        expect(await reg.gc()).toEqual({ temp: [], orphans: [], bytes: 0 }); // younger than the default hour
        const rel = paths.blob(h);
        expect(await reg.gc({ minAgeMs: 0, dryRun: true })).toEqual({ temp: [], orphans: [rel], bytes: 300 });
        expect(await reg.hasBlob(h)).toBe(true);
        // An aborted upload's leftover, old enough to go.
        const temp = path.join(f.dir, 'v1/blobs/sha256/.tmp-blob-1-leftover');
        await writeFile(temp, 'partial');
        const old = new Date(Date.now() - 7_200_000);
        await utimes(temp, old, old);
        expect(await reg.gc({ minAgeMs: 0 })).toEqual({ temp: ['v1/blobs/sha256/.tmp-blob-1-leftover'], orphans: [rel], bytes: 307 });
        expect(await reg.hasBlob(h)).toBe(false);
        for (const x of files) expect(Buffer.from(await reg.readBlob(x.sha256)).equals(x.bytes)).toBe(true);
        expect((await reg.resolve('tiny-cnn@latest')).version).toBe('1.1.0');
      });

      test('writes', 'a write while another writer holds the lock is LOCKED and changes nothing', async () => {
        const lock = path.join(f.dir, '.lock');
        await writeFile(lock, `${process.pid} other-writer\n`);
        try {
          const before = await reg.index('tiny-cnn');
          expect(await codeOf(reg.promote('tiny-cnn', 'stable', '1.1.0'))).toBe('LOCKED');
          expect(await codeOf(reg.gc({ minAgeMs: 0 }))).toBe('LOCKED');
          expect(await reg.index('tiny-cnn')).toEqual(before);
        } finally {
          await rm(lock, { force: true });
        }
        expect((await reg.promote('tiny-cnn', 'stable', '1.1.0')).change).toBe('stable: 1.0.0 -> 1.1.0');
      });
    });
  });
}
