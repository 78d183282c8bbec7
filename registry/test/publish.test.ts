import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, publish, readModelDir } from '../src/publish.js';
import { RegistryStore, RegistryStoreError } from '../src/store.js';
import { parseRef, paths, resolveVersion } from 'webinfer/protocol';
import { Catalog, check, Manifest, manifestProblems, ModelIndex, parseSafetensors, writeRawSafetensors } from 'webinfer/protocol';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TINY = path.join(repo, 'models', 'tiny-cnn');
const EMOTION = path.join(repo, 'models', 'emotion');
const run = promisify(execFile);

let tmp: string;
let tinyCard: Record<string, unknown>;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'webinfer-publish-'));
  tinyCard = JSON.parse(await readFile(path.join(TINY, 'card.json'), 'utf8')) as Record<string, unknown>;
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
const freshRoot = (): string => path.join(tmp, `root-${++n}`);

/** Every file under `dir` (relative path → sha256 of its bytes), for before/after comparisons. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    out[path.relative(dir, abs)] = createHash('sha256').update(await readFile(abs)).digest('hex');
  }
  return out;
}

const readJson = async (root: string, rel: string): Promise<unknown> => JSON.parse(await readFile(path.join(root, rel), 'utf8'));

async function rejection(p: Promise<unknown>): Promise<RegistryStoreError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryStoreError);
    return e as RegistryStoreError;
  }
  throw new Error('expected a rejection');
}

describe('publish', () => {
  it('publishes tiny-cnn: layout, blobs, manifest, index and catalogue', async () => {
    const root = freshRoot();
    const now = new Date('2025-01-01T00:00:00.000Z');
    const r = await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: path.join(TINY, 'card.json'), now });

    const files = await snapshot(root);
    const blobs = Object.keys(files).filter((f) => f.startsWith('v1/blobs/sha256/'));
    expect(Object.keys(files).sort()).toEqual(
      ['v1/models.json', 'v1/models/tiny-cnn/index.json', 'v1/models/tiny-cnn/versions/1.0.0.json', ...blobs].sort(),
    );
    expect(blobs).toHaveLength(2);
    // Content addressing: each blob's name is the hash of its bytes.
    for (const b of blobs) expect(files[b]).toBe(path.basename(b));
    // No temp files or lock left behind.
    expect(Object.keys(files).some((f) => f.includes('.tmp-') || f.endsWith('.lock'))).toBe(false);

    const manifest = await readJson(root, 'v1/models/tiny-cnn/versions/1.0.0.json');
    const m = check(Manifest, manifest);
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(manifestProblems(m.value)).toEqual([]);
    expect(m.value).toMatchObject({
      schema: 'webinfer.manifest/v1',
      id: 'tiny-cnn',
      version: '1.0.0',
      task: 'image-classification',
      format: 'tfjs-layers',
      createdAt: '2025-01-01T00:00:00.000Z',
      labels: tinyCard.labels,
      preprocess: { width: 28, height: 28, channels: 1, scale: 1 / 255, mean: [0], std: [1], layout: 'nhwc' },
      output: 'probabilities',
      license: 'MIT',
    });
    expect(m.value.description).toMatch(/RANDOM/);
    const variant = m.value.variants.float32;
    expect(variant.entry).toBe('model.json');
    expect(variant.files.map((f) => f.path)).toEqual(['model.json', 'group1-shard1of1.bin']);
    for (const f of variant.files) {
      const bytes = await readFile(path.join(TINY, f.path));
      expect(f.size).toBe(bytes.length);
      expect(f.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      const blob = await readFile(path.join(root, paths.blob(f.sha256)));
      expect(blob.equals(bytes)).toBe(true);
    }
    expect(r.manifest).toEqual(m.value);

    const idx = check(ModelIndex, await readJson(root, 'v1/models/tiny-cnn/index.json'));
    expect(idx.ok).toBe(true);
    if (!idx.ok) return;
    const size = variant.files.reduce((s, f) => s + f.size, 0);
    expect(idx.value).toMatchObject({
      id: 'tiny-cnn',
      task: 'image-classification',
      versions: [{ version: '1.0.0', publishedAt: '2025-01-01T00:00:00.000Z', yanked: false, size }],
      aliases: { latest: '1.0.0', stable: '1.0.0' },
      history: { latest: [{ version: '1.0.0', at: '2025-01-01T00:00:00.000Z' }], stable: [{ version: '1.0.0', at: '2025-01-01T00:00:00.000Z' }] },
    });

    const cat = check(Catalog, await readJson(root, 'v1/models.json'));
    expect(cat).toEqual({
      ok: true,
      value: {
        schema: 'webinfer.catalog/v1',
        models: [{ id: 'tiny-cnn', task: 'image-classification', description: m.value.description, aliases: { latest: '1.0.0', stable: '1.0.0' }, versions: ['1.0.0'] }],
      },
    });
  });

  it('maintains latest as the highest version, keeps other aliases, records history', async () => {
    const root = freshRoot();
    const at = (d: string): Date => new Date(`${d}T00:00:00.000Z`);
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: tinyCard, now: at('2025-01-01') });
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.1.0', aliases: ['latest'], card: { ...tinyCard, description: 'v1.1' }, now: at('2025-02-01') });
    // An older patch release published later does not move latest.
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.1', aliases: ['canary'], card: tinyCard, now: at('2025-03-01') });
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.10.0', card: tinyCard, now: at('2025-04-01') });

    const store = new RegistryStore(root);
    const index = (await store.readIndex('tiny-cnn'))!;
    expect(index.versions.map((e) => e.version)).toEqual(['1.0.0', '1.0.1', '1.1.0', '1.10.0']);
    expect(index.aliases).toEqual({ canary: '1.0.1', latest: '1.10.0', stable: '1.0.0' });
    expect(index.history.latest).toEqual([
      { version: '1.0.0', at: '2025-01-01T00:00:00.000Z' },
      { version: '1.1.0', at: '2025-02-01T00:00:00.000Z' },
      { version: '1.10.0', at: '2025-04-01T00:00:00.000Z' },
    ]);
    expect(index.history.stable).toEqual([{ version: '1.0.0', at: '2025-01-01T00:00:00.000Z' }]);
    expect(resolveVersion(index, parseRef('tiny-cnn'))).toBe('1.0.0');
    expect(resolveVersion(index, parseRef('tiny-cnn@latest'))).toBe('1.10.0');
    const manifest = (await store.readManifest('tiny-cnn', '1.1.0'))!;
    expect(manifest.description).toBe('v1.1');
    // Same files → the same two blobs, stored once.
    const blobs = await readdir(path.join(root, 'v1/blobs/sha256'));
    expect(blobs).toHaveLength(2);
    const catalog = (await store.readCatalog())!;
    expect(catalog.models).toEqual([
      { id: 'tiny-cnn', task: 'image-classification', description: tinyCard.description, aliases: index.aliases, versions: ['1.0.0', '1.0.1', '1.1.0', '1.10.0'] },
    ]);
  });

  it('publishes a graph model (emotion) whose model JSON is not called model.json', async () => {
    const root = freshRoot();
    const r = await publish({ modelDir: EMOTION, root, id: 'emotion', version: '1.0.0', aliases: ['stable'], card: path.join(EMOTION, 'card.json') });
    expect(r.manifest.format).toBe('tfjs-graph');
    expect(r.manifest.variants.float32.entry).toBe('emotion.json');
    expect(r.manifest.variants.float32.files.map((f) => [f.path, f.size])).toEqual([
      ['emotion.json', (await stat(path.join(EMOTION, 'emotion.json'))).size],
      ['emotion.bin', 820516],
    ]);
    expect(r.manifest.labels).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    expect(r.manifest.preprocess).toMatchObject({ width: 64, height: 64, channels: 1, grayWeights: [0.2989, 0.587, 0.114], mean: [0.5], std: [0.5] });
  });

  it('refuses to re-publish a version and leaves the tree byte-identical', async () => {
    const root = freshRoot();
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: tinyCard });
    const before = await snapshot(root);

    const e1 = await rejection(publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', aliases: ['beta'], card: tinyCard }));
    expect(e1.code).toBe('EXISTS');
    expect(e1.message).toContain('tiny-cnn@1.0.0');
    expect(e1.message).toMatch(/already published/);

    // Different bytes under the same version: refused before any blob is stored.
    const changed = path.join(tmp, 'changed-model');
    await cp(TINY, changed, { recursive: true });
    await writeFile(path.join(changed, 'group1-shard1of1.bin'), new Uint8Array(27240).fill(7));
    const e2 = await rejection(publish({ modelDir: changed, root, id: 'tiny-cnn', version: '1.0.0', card: tinyCard }));
    expect(e2.code).toBe('EXISTS');

    expect(await snapshot(root)).toEqual(before);
  });

  it('refuses an invalid card and writes nothing', async () => {
    const root = freshRoot();
    const { labels: _labels, ...noLabels } = tinyCard;
    const e = await rejection(publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: noLabels }));
    expect(e.code).toBe('INVALID');
    expect(e.message).toBe('manifest for tiny-cnn@1.0.0 is invalid: labels: required for image-classification');
    await expect(stat(root)).rejects.toMatchObject({ code: 'ENOENT' });

    // Into an existing registry: unchanged.
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: tinyCard });
    const before = await snapshot(root);
    const bad = [
      { ...tinyCard, task: 'segmentation' },
      { ...tinyCard, preprocess: { width: 28, height: 28, channels: 1, std: [0] } },
      { ...tinyCard, lables: ['typo'] },
      { ...tinyCard, format: 'tfjs-graph' },
    ];
    for (const card of bad) {
      const err = await rejection(publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '2.0.0', card }));
      expect(err.code).toBe('INVALID');
    }
    const missingTask = await rejection(publish({ modelDir: TINY, root, id: 'other', version: '1.0.0', card: {} }));
    // A card without a task, on a format that does not imply one: the error names both ways to give it.
    expect(missingTask.code).toBe('INVALID');
    expect(missingTask.message).toMatch(/which task is this tfjs-layers model for\? Give --task .* or a --card whose JSON has "task"/);
    expect(await snapshot(root)).toEqual(before);
  });

  it('refuses bad ids, versions, aliases, directories, and a task change', async () => {
    const root = freshRoot();
    const base = { modelDir: TINY, root, card: tinyCard };
    expect((await rejection(publish({ ...base, id: '../evil', version: '1.0.0' }))).message).toMatch(/invalid model id/);
    expect((await rejection(publish({ ...base, id: 'ok', version: '1.0' }))).message).toMatch(/invalid version/);
    expect((await rejection(publish({ ...base, id: 'ok', version: '1.0.0', aliases: ['1.0.0'] }))).message).toMatch(/invalid alias/);
    expect((await rejection(publish({ ...base, modelDir: path.join(tmp, 'nope'), id: 'ok', version: '1.0.0' }))).code).toBe('NOT_FOUND');
    await expect(stat(root)).rejects.toMatchObject({ code: 'ENOENT' });

    await publish({ ...base, id: 'ok', version: '1.0.0' });
    const e = await rejection(publish({ ...base, id: 'ok', version: '2.0.0', task: 'text-generation' }));
    expect(e.code).toBe('CONFLICT');
  });

  it('publishes the tiny-cnn files as a text-generation model (TaskMismatch fixture)', async () => {
    const root = freshRoot();
    const r = await publish({ modelDir: TINY, root, id: 'not-a-classifier', version: '1.0.0', card: { task: 'text-generation', format: 'tfjs-layers', license: 'MIT' } });
    expect(r.manifest.task).toBe('text-generation');
    expect(r.manifest.format).toBe('tfjs-layers');
    expect(manifestProblems(r.manifest)).toEqual([]);
  });

  it('lands concurrent publishes of different versions (lock)', async () => {
    const root = freshRoot();
    const versions = ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.0.1', '0.1.0'];
    await Promise.all(versions.map((version) => publish({ modelDir: TINY, root, id: 'tiny-cnn', version, card: tinyCard })));
    // A second model at the same time: the catalogue keeps both.
    await Promise.all([
      publish({ modelDir: EMOTION, root, id: 'emotion', version: '1.0.0', card: path.join(EMOTION, 'card.json') }),
      publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '3.0.0', card: tinyCard }),
    ]);
    const store = new RegistryStore(root);
    const index = (await store.readIndex('tiny-cnn'))!;
    expect(index.versions.map((e) => e.version)).toEqual(['0.1.0', '1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.0.1', '3.0.0']);
    expect(index.aliases.latest).toBe('3.0.0');
    const catalog = (await store.readCatalog())!;
    expect(catalog.models.map((m) => m.id)).toEqual(['emotion', 'tiny-cnn']);
    expect(catalog.models[1]!.versions).toHaveLength(7);
    const files = await snapshot(root);
    expect(Object.keys(files).some((f) => f.includes('.tmp-') || f === '.lock')).toBe(false);
  });

  it('lets only one of two concurrent publishes of the same version win', async () => {
    const root = freshRoot();
    const results = await Promise.allSettled([
      publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: { ...tinyCard, description: 'A' } }),
      publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: { ...tinyCard, description: 'B' } }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as RegistryStoreError).code).toBe('EXISTS');
    const index = (await new RegistryStore(root).readIndex('tiny-cnn'))!;
    expect(index.versions).toHaveLength(1);
  });

  it('waits for a held lock, breaks a stale one, gives up on a live one', async () => {
    const root = freshRoot();
    await mkdir(root, { recursive: true });
    const lock = path.join(root, '.lock');

    // Stale: an hour old.
    await writeFile(lock, 'crashed writer\n');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(lock, old, old);
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: tinyCard });
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });

    // Live: refused after the timeout, nothing changed.
    await writeFile(lock, 'busy writer\n');
    const before = await snapshot(root);
    const e = await rejection(publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.1.0', card: tinyCard, lock: { timeoutMs: 200 } }));
    expect(e.code).toBe('LOCKED');
    const after = await snapshot(root);
    // Blobs are content-addressed and were already there; documents are untouched.
    expect(after).toEqual(before);
    expect(await readFile(lock, 'utf8')).toBe('busy writer\n');

    // Released while waiting: the publish goes through.
    const pending = publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.1.0', card: tinyCard, lock: { timeoutMs: 5000 } });
    await new Promise((r) => setTimeout(r, 100));
    await rm(lock);
    await pending;
    expect((await new RegistryStore(root).readIndex('tiny-cnn'))!.aliases.latest).toBe('1.1.0');
  });
});

describe('store', () => {
  it('creates immutable documents exclusively', async () => {
    const store = new RegistryStore(freshRoot());
    await store.createJsonExclusive('v1/x.json', { a: 1 });
    const e = await rejection(store.createJsonExclusive('v1/x.json', { a: 2 }));
    expect(e.code).toBe('EXISTS');
    expect(await store.readJson('v1/x.json')).toEqual({ a: 1 });
    expect(await readdir(path.join(store.root, 'v1'))).toEqual(['x.json']);
  });

  it('stores blobs under their hash, once', async () => {
    const store = new RegistryStore(freshRoot());
    const bytes = new TextEncoder().encode('hello');
    const a = await store.putBlobBytes(bytes);
    expect(a).toEqual({ sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', size: 5 });
    const src = path.join(tmp, 'hello.txt');
    await writeFile(src, bytes);
    expect(await store.putBlobFile(src)).toEqual(a);
    expect(await readdir(path.join(store.root, 'v1/blobs/sha256'))).toEqual([a.sha256]);
  });

  it('validates what it reads', async () => {
    const store = new RegistryStore(freshRoot());
    expect(await store.readCatalog()).toBeUndefined();
    expect(await store.readIndex('nope')).toBeUndefined();
    await store.writeJsonAtomic(paths.catalog(), { schema: 'webinfer.catalog/v2', models: [] });
    expect((await rejection(store.readCatalog())).message).toMatch(/^v1\/models\.json is invalid: schema: /);
    await mkdir(path.dirname(store.abs(paths.index('bad'))), { recursive: true });
    await writeFile(store.abs(paths.index('bad')), '{not json');
    expect((await rejection(store.readIndex('bad'))).message).toMatch(/not valid JSON/);
    await expect(store.readIndex('../x')).rejects.toThrow(/invalid model id/);
  });
});

describe('model directories', () => {
  it('detects formats', () => {
    expect(detectFormat({ format: 'layers-model' })).toBe('tfjs-layers');
    expect(detectFormat({ format: 'graph-model' })).toBe('tfjs-graph');
    expect(detectFormat({ modelTopology: { class_name: 'Sequential' } })).toBe('tfjs-layers');
    expect(detectFormat({ modelTopology: { model_config: {} } })).toBe('tfjs-layers');
    expect(detectFormat({ modelTopology: { node: [] } })).toBe('tfjs-graph');
    expect(detectFormat({ modelTopology: {} })).toBeUndefined();
    expect(detectFormat(null)).toBeUndefined();
  });

  it('reads shard paths from weightsManifest and rejects unsafe or missing ones', async () => {
    expect((await readModelDir(TINY)).files.map((f) => f.path)).toEqual(['model.json', 'group1-shard1of1.bin']);
    const dir = path.join(tmp, 'shards');
    await mkdir(dir, { recursive: true });
    const write = (wm: unknown): Promise<void> => writeFile(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: wm }));
    await write([{ paths: ['../secret.bin'], weights: [] }]);
    expect((await rejection(readModelDir(dir))).message).toMatch(/unsupported weight path/);
    await write([{ paths: ['missing.bin'], weights: [] }]);
    expect((await rejection(readModelDir(dir))).message).toMatch(/missing\.bin .* is missing/);
    await writeFile(path.join(dir, 'a.bin'), 'a');
    await writeFile(path.join(dir, 'b.bin'), 'b');
    await write([{ paths: ['a.bin'], weights: [] }, { paths: ['b.bin', 'a.bin'], weights: [] }]);
    expect((await readModelDir(dir)).files.map((f) => f.path)).toEqual(['model.json', 'a.bin', 'b.bin']);
  });
});

describe('webinfer-registry CLI (npx tsx registry/src/cli.ts)', () => {
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run('npx', ['tsx', 'registry/src/cli.ts', ...args], { cwd: repo, encoding: 'utf8' });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  };
  /** stderr without npm's own warnings about the environment. */
  const ownLines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));

  it('publishes, refuses a re-publish with a one-line error, lists and inspects', async () => {
    const root = freshRoot();
    const args = ['publish', 'models/tiny-cnn', '--root', root, '--id', 'tiny-cnn', '--version', '1.0.0', '--alias', 'stable', '--alias', 'beta', '--card', 'models/tiny-cnn/card.json'];
    const ok = await cli(...args);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^published tiny-cnn@1\.0\.0 \(image-classification, tfjs-layers, 2 files, 29087 bytes\); aliases: beta, latest, stable\n$/);
    const index = (await new RegistryStore(root).readIndex('tiny-cnn'))!;
    expect(index.aliases).toEqual({ beta: '1.0.0', latest: '1.0.0', stable: '1.0.0' });
    const before = await snapshot(root);

    const again = await cli(...args);
    expect(again.code).not.toBe(0);
    expect(ownLines(again.stderr)).toEqual(['webinfer-registry: error: tiny-cnn@1.0.0 is already published; versions are immutable, publish a new version']);
    expect(await snapshot(root)).toEqual(before);

    const list = await cli('list', '--root', root);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('tiny-cnn\timage-classification\tbeta=1.0.0 latest=1.0.0 stable=1.0.0\tversions: 1.0.0\n');

    const inspect = await cli('inspect', 'tiny-cnn@stable', '--root', root);
    expect(inspect.code).toBe(0);
    const m = JSON.parse(inspect.stdout) as Manifest;
    expect(m).toMatchObject({ id: 'tiny-cnn', version: '1.0.0', format: 'tfjs-layers' });

    const missing = await cli('inspect', 'tiny-cnn@9.9.9', '--root', root);
    expect(missing.code).toBe(1);
    expect(ownLines(missing.stderr)).toEqual(['webinfer-registry: error: model "tiny-cnn" has no version 9.9.9']);
  }, 120_000);

  it('lands two concurrent CLI publishes from separate processes', async () => {
    const root = freshRoot();
    const pub = (version: string): ReturnType<typeof cli> =>
      cli('publish', 'models/tiny-cnn', '--root', root, '--id', 'tiny-cnn', '--version', version, '--card', 'models/tiny-cnn/card.json');
    const [a, b, c] = await Promise.all([pub('1.0.0'), pub('1.1.0'), pub('1.2.0')]);
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    const index = (await new RegistryStore(root).readIndex('tiny-cnn'))!;
    expect(index.versions.map((e) => e.version)).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    expect(index.aliases.latest).toBe('1.2.0');
  }, 120_000);

  it('fails with a one-line message on bad arguments', async () => {
    const r = await cli('publish', 'models/tiny-cnn', '--root', freshRoot(), '--id', 'Bad', '--version', '1.0.0');
    expect(r.code).toBe(1);
    expect(ownLines(r.stderr)).toEqual([`webinfer-registry: error: invalid model id "Bad" (lower-case letters, digits, '.', '_', '-'; 1–64 chars)`]);
    const missing = await cli('publish', 'models/tiny-cnn', '--root', freshRoot());
    expect(missing.code).toBe(1);
    expect(ownLines(missing.stderr)).toEqual([`error: required option '--id <id>' not specified`]);
  }, 120_000);
});

describe('gpt2-safetensors', () => {
  const GPT = path.join(repo, 'models', 'tiny-gpt');
  it('detects a Hugging Face GPT-2 directory and splits model.safetensors into ordered chunks that join back to the file', async () => {
    const root = path.join(tmp, 'gpt2-reg');
    const r = await publish({ modelDir: GPT, root, id: 'tiny-gpt', version: '1.0.0', card: path.join(GPT, 'card.json'), chunkBytes: 256 * 1024 });
    expect(r.manifest.format).toBe('gpt2-safetensors');
    expect(r.manifest.task).toBe('text-generation');
    const files = r.manifest.variants.float32.files;
    expect(files.slice(0, 2).map((f) => f.path)).toEqual(['config.json', 'tokenizer.json']);
    const parts = files.slice(2);
    const original = await readFile(path.join(GPT, 'model.safetensors'));
    expect(parts.length).toBe(Math.ceil(original.length / (256 * 1024)));
    expect(parts.map((f) => f.path)).toEqual(parts.map((_, i) => `model.safetensors.part-${String(i).padStart(5, '0')}-of-${String(parts.length).padStart(5, '0')}`));
    const store = new RegistryStore(root);
    const joined = Buffer.concat(await Promise.all(parts.map((f) => readFile(path.join(root, paths.blob(f.sha256))))));
    expect(joined.equals(original)).toBe(true);
    for (const f of parts) expect(f.size).toBeLessThanOrEqual(256 * 1024);
    expect(await store.exists(paths.manifest('tiny-gpt', '1.0.0'))).toBe(true);
    // Small files stay whole; a directory missing tokenizer.json is not GPT-2 (and not tfjs either).
    const whole = await publish({ modelDir: GPT, root, id: 'tiny-gpt', version: '1.0.1', card: path.join(GPT, 'card.json') });
    expect(whole.manifest.variants.float32.files.map((f) => f.path)).toEqual(['config.json', 'tokenizer.json', 'model.safetensors']);
    const partial = path.join(tmp, 'gpt2-partial');
    await mkdir(partial, { recursive: true });
    await cp(path.join(GPT, 'config.json'), path.join(partial, 'config.json'));
    await cp(path.join(GPT, 'model.safetensors'), path.join(partial, 'model.safetensors'));
    await expect(publish({ modelDir: partial, root, id: 'x', version: '1.0.0', card: { task: 'text-generation' } })).rejects.toThrow(/model\.json/);
  });
});

describe('llama-safetensors (Hugging Face Llama, Qwen2, Mistral directories)', () => {
  const LLAMA = path.join(repo, 'models', 'llama-tiny');
  const QWEN = path.join(repo, 'models', 'qwen2-tiny');

  /** llama-tiny re-laid as two shards with an index, as big checkpoints come. */
  async function shardedCopy(): Promise<string> {
    const dir = await mkdtemp(path.join(tmp, 'llama-sharded-'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await cp(path.join(LLAMA, f), path.join(dir, f));
    const { tensors } = parseSafetensors(new Uint8Array(await readFile(path.join(LLAMA, 'model.safetensors'))));
    const names = [...tensors.keys()];
    const half = Math.ceil(names.length / 2);
    const weightMap: Record<string, string> = {};
    for (const [i, part] of [names.slice(0, half), names.slice(half)].entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await writeFile(path.join(dir, file), writeRawSafetensors(part.map((n) => [n, tensors.get(n)!] as const), {}));
      for (const n of part) weightMap[n] = file;
    }
    await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    return dir;
  }

  it('publishes a Llama and a Qwen2 directory without a card: format from model_type, task text-generation, tokenizer_config.json kept', async () => {
    const root = freshRoot();
    for (const [dir, id] of [[LLAMA, 'llama-tiny'], [QWEN, 'qwen2-tiny']] as const) {
      const r = await publish({ modelDir: dir, root, id, version: '1.0.0', aliases: ['stable'] });
      expect(r.manifest.format).toBe('llama-safetensors');
      expect(r.manifest.task).toBe('text-generation');
      expect(r.manifest.variants.float32.files.map((f) => f.path)).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']);
      const blob = await readFile(path.join(root, paths.blob(r.manifest.variants.float32.files[2]!.sha256)), 'utf8');
      expect(blob).toBe(await readFile(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    }
  });

  it('publishes a sharded checkpoint: the index, then each shard whole or in ordered chunks', async () => {
    const dir = await shardedCopy();
    const root = freshRoot();
    const r = await publish({ modelDir: dir, root, id: 'llama-sharded', version: '1.0.0', chunkBytes: 200 * 1024 });
    const list = r.manifest.variants.float32.files.map((f) => f.path);
    expect(list.slice(0, 4)).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors.index.json']);
    const shard = (i: number): string[] => list.filter((p) => p.startsWith(`model-0000${i}-of-00002.safetensors`));
    expect(shard(1).length + shard(2).length).toBe(list.length - 4);
    for (const i of [1, 2]) {
      const original = await readFile(path.join(dir, `model-0000${i}-of-00002.safetensors`));
      const files = r.manifest.variants.float32.files.filter((f) => shard(i).includes(f.path));
      const joined = Buffer.concat(await Promise.all(files.map((f) => readFile(path.join(root, paths.blob(f.sha256))))));
      expect(joined.equals(original)).toBe(true);
    }
    // A shard the index names but the directory lacks is refused, naming it.
    await rm(path.join(dir, 'model-00002-of-00002.safetensors'));
    const e = await rejection(publish({ modelDir: dir, root, id: 'llama-sharded', version: '1.0.1' }));
    expect(e.message).toMatch(/model-00002-of-00002\.safetensors is missing/);
  });

  it('quantizes Llama weights (nn.Linear [out, in]) to int8/int4 with a group that divides every width, and float16; a sharded index is rewritten', async () => {
    const root = freshRoot();
    const r = await publish({ modelDir: LLAMA, root, id: 'llama-q', version: '1.0.0', quantize: ['float16', 'int8', 'int4'] });
    expect(Object.keys(r.manifest.variants).sort()).toEqual(['float16', 'float32', 'int4', 'int8']);
    const weightsOf = async (dtype: string) => {
      const f = r.manifest.variants[dtype as 'int8']!.files.find((x) => x.path === 'model.safetensors')!;
      return parseSafetensors(new Uint8Array(await readFile(path.join(root, paths.blob(f.sha256)))));
    };
    const int8 = await weightsOf('int8');
    // llama-tiny's MLP is 176 wide: 64 and 32 do not divide it, 16 does.
    expect(int8.metadata).toMatchObject({ 'webinfer.quantization': 'int8', 'webinfer.group': '16' });
    for (const m of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj']) {
      expect(int8.tensors.get(`model.layers.1.${m}.weight.wi_q8`)?.dtype).toBe('I8');
      expect(int8.tensors.has(`model.layers.1.${m}.weight`)).toBe(false);
    }
    expect(int8.tensors.has('lm_head.weight.wi_q8')).toBe(true);
    expect(int8.tensors.has('model.embed_tokens.weight.wi_q8')).toBe(true);
    expect(int8.tensors.get('model.norm.weight')?.dtype).toBe('F32');
    expect((await weightsOf('int4')).metadata['webinfer.group']).toBe('16');
    expect((await weightsOf('float16')).tensors.get('model.norm.weight')?.dtype).toBe('F16');

    const sharded = await publish({ modelDir: await shardedCopy(), root, id: 'llama-sharded-q', version: '1.0.0', quantize: ['int8'] });
    const v = sharded.manifest.variants.int8!;
    const index = JSON.parse(await readFile(path.join(root, paths.blob(v.files.find((f) => f.path === 'model.safetensors.index.json')!.sha256)), 'utf8')) as { weight_map: Record<string, string> };
    expect(index.weight_map['model.layers.0.mlp.down_proj.weight.wi_q8']).toMatch(/^model-0000[12]-of-00002\.safetensors$/);
    expect(index.weight_map['model.layers.0.mlp.down_proj.weight']).toBeUndefined();
  });

  it('refuses an unsupported model_type by name, and a tfjs model without a task names --task / --card', async () => {
    const dir = await mkdtemp(path.join(tmp, 'bert-'));
    for (const f of ['tokenizer.json', 'model.safetensors']) await cp(path.join(LLAMA, f), path.join(dir, f));
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 64 }));
    const root = freshRoot();
    const e = await rejection(publish({ modelDir: dir, root, id: 'bert', version: '1.0.0' }));
    expect(e.message).toMatch(/model_type "bert" is not supported \(webinfer runs gpt2, llama, qwen2, mistral\)/);
    const t = await rejection(publish({ modelDir: TINY, root, id: 'no-task', version: '1.0.0' }));
    expect(t.message).toMatch(/--task.*--card/);
    expect(await snapshot(root)).toEqual({});
  });
});
