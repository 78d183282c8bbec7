/**
 * The store survives its own faults: a lock left by a killed writer is taken over at once (its owner is
 * dead), gc never touches an upload in progress, and a corrupt blob is repaired by `verify --repair` or by
 * uploading the right bytes again.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gc, repairRegistry, verifyRegistry } from '../src/ops.js';
import { MACHINE, OWNER, ownerState } from '../src/owner.js';
import { publish } from '../src/publish.js';
import { RegistryStore, RegistryStoreError } from '../src/store.js';
import { paths } from 'webinfer/protocol';
import { bearer, repo, startService, tempDir, TINY, tinyCard } from './helpers/registry.js';

let tmp: string;
let cleanup: () => Promise<void>;
let n = 0;
const freshRoot = (): string => path.join(tmp, `root-${++n}`);

beforeAll(async () => {
  ({ dir: tmp, cleanup } = await tempDir('webinfer-faults-'));
});
afterAll(async () => {
  await cleanup?.();
});

/** The pid of a process that ran and exited. */
const deadPid = (): Promise<number> =>
  new Promise((resolve) => {
    const c = spawn(process.execPath, ['-e', '']);
    c.once('exit', () => resolve(c.pid!));
  });

describe('owner tags', () => {
  it('this process is alive, an exited one dead, another machine unknown', async () => {
    expect(ownerState(OWNER)).toBe('alive');
    expect(ownerState(`${await deadPid()}.${MACHINE}`)).toBe('dead');
    expect(ownerState(`1.${MACHINE === '00000000' ? '11111111' : '00000000'}`)).toBe('unknown');
    expect(ownerState('crashed writer')).toBe('unknown');
  });
});

describe('the lock', () => {
  it('a writer SIGKILLed while holding the lock: the next writer takes it over at once', async () => {
    const root = freshRoot();
    const script = `import { RegistryStore } from ${JSON.stringify(path.join(repo, 'registry/src/store.ts'))};
      await new RegistryStore(${JSON.stringify(root)}).withLock(() => new Promise(() => { console.log('locked'); setInterval(() => undefined, 1000); }));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    expect((await readFile(path.join(root, '.lock'), 'utf8')).split(' ')[0]).toBe(`${child.pid}.${MACHINE}`);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const t0 = Date.now();
    // A short wait limit: before, the dead writer's fresh lock made this fail LOCKED for 60 s.
    const got = await new RegistryStore(root).withLock(async () => 'written', { timeoutMs: 500 });
    expect(got).toBe('written');
    expect(Date.now() - t0).toBeLessThan(400);
    await expect(stat(path.join(root, '.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a live owner keeps its lock, even past staleMs; an unknown owner loses it only when stale', async () => {
    const root = freshRoot();
    const store = new RegistryStore(root);
    let inner: unknown;
    await store.withLock(async () => {
      await new Promise((r) => setTimeout(r, 120));
      inner = await store.withLock(async () => 'x', { timeoutMs: 100, staleMs: 50 }).catch((e: unknown) => e);
    }, { staleMs: 50 });
    expect(inner).toBeInstanceOf(RegistryStoreError);
    expect((inner as RegistryStoreError).code).toBe('LOCKED');
    await writeFile(path.join(root, '.lock'), 'someone on another machine\n');
    await expect(store.withLock(async () => 1, { timeoutMs: 100, staleMs: 60_000 })).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(store.withLock(async () => 1, { timeoutMs: 1000, staleMs: 200 })).resolves.toBe(1);
  });

  it('many writers racing to take over a dead writer\'s lock: one at a time, every time', async () => {
    const root = freshRoot();
    const store = new RegistryStore(root);
    const dead = await deadPid();
    await mkdir(root, { recursive: true });
    let inside = 0;
    let most = 0;
    let done = 0;
    for (let round = 0; round < 15; round++) {
      await writeFile(path.join(root, '.lock'), `${dead}.${MACHINE} 0000 2025-01-01T00:00:00.000Z\n`);
      await Promise.all(
        Array.from({ length: 6 }, () =>
          store.withLock(async () => {
            most = Math.max(most, ++inside);
            await new Promise((r) => setTimeout(r, 2));
            inside--;
            done++;
          }, { timeoutMs: 5000 }),
        ),
      );
    }
    expect(done).toBe(90);
    expect(most).toBe(1);
  });

  it('the holder renews its lease, so a long write is not taken for an abandoned lock', async () => {
    const root = freshRoot();
    const store = new RegistryStore(root);
    const lock = path.join(root, '.lock');
    const ages: number[] = [];
    await store.withLock(async () => {
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 60));
        ages.push(Date.now() - (await stat(lock)).mtimeMs);
      }
    }, { staleMs: 150 });
    expect(Math.max(...ages)).toBeLessThan(150);
  });
});

describe('gc and uploads', () => {
  it('gc with minAgeMs 0 during uploads never deletes an upload\'s temp file', async () => {
    const root = freshRoot();
    const store = new RegistryStore(root);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1000).fill(1);
      await gate;
      yield new Uint8Array(1000).fill(2);
    }
    const uploads = [0, 1, 2].map(() => store.putBlobStream(slow()));
    const blobDir = path.join(root, 'v1/blobs/sha256');
    for (let i = 0; i < 100 && (await readdir(blobDir).catch(() => [])).length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await readdir(blobDir)).filter((f) => f.startsWith('.tmp-'))).toHaveLength(3);
    const r = await gc(store, { minAgeMs: 0 });
    expect(r.temp).toEqual([]);
    release();
    const done = await Promise.all(uploads);
    expect(done.map((d) => d.size)).toEqual([2000, 2000, 2000]);
    expect(await store.hasBlob(done[0]!.sha256, 2000)).toBe(true);
  });

  it('gc still removes the temp file of a writer that is dead', async () => {
    const root = freshRoot();
    const store = new RegistryStore(root);
    const dir = path.join(root, 'v1/blobs/sha256');
    await store.putBlobBytes(new Uint8Array([1]));
    const leftover = `.tmp-blob-${await deadPid()}.${MACHINE}-0123456789ab`;
    await writeFile(path.join(dir, leftover), 'partial');
    const r = await gc(store, { minAgeMs: 0 });
    expect(r.temp).toEqual([`v1/blobs/sha256/${leftover}`]);
  });
});

describe('repairing a corrupt blob', () => {
  /** tiny-cnn published, then its weights file rotted (same size, other bytes). */
  async function rotted(): Promise<{ root: string; store: RegistryStore; hash: string; file: string }> {
    const root = freshRoot();
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: await tinyCard() });
    const store = new RegistryStore(root);
    const m = (await store.readManifest('tiny-cnn', '1.0.0'))!;
    const f = m.variants.float32.files.find((x) => x.path.endsWith('.bin'))!;
    const blob = store.abs(paths.blob(f.sha256));
    const bytes = await readFile(blob);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(blob, bytes);
    expect(await verifyRegistry(store)).toEqual([`tiny-cnn@1.0.0: blob ${f.sha256} (${f.path}) is missing or corrupt`]);
    return { root, store, hash: f.sha256, file: path.join(TINY, f.path) };
  }

  it('re-uploading the right bytes replaces the corrupt blob (store)', async () => {
    const { store, hash, file } = await rotted();
    const r = await store.putBlobStream((await import('node:fs')).createReadStream(file), { expectedSha256: hash });
    expect(r).toMatchObject({ sha256: hash, created: false, repaired: true });
    expect(await verifyRegistry(store)).toEqual([]);
  });

  it('re-uploading through the service answers repaired: true and serves the right bytes after', async () => {
    const { root, store, hash, file } = await rotted();
    const s = await startService(root);
    try {
      const bytes = await readFile(file);
      const res = await fetch(`${s.url}/v1/blobs/sha256/${hash}`, { method: 'PUT', body: bytes, headers: bearer(s.tokens.publish) });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ sha256: hash, created: false, repaired: true });
      expect(Buffer.from(await (await fetch(`${s.url}/v1/blobs/sha256/${hash}`)).arrayBuffer()).equals(bytes)).toBe(true);
      // An intact blob is not rewritten.
      const again = await fetch(`${s.url}/v1/blobs/sha256/${hash}`, { method: 'PUT', body: bytes, headers: bearer(s.tokens.publish) });
      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ created: false });
    } finally {
      await s.close();
    }
    expect(await verifyRegistry(store)).toEqual([]);
  });

  it('verify --repair quarantines the corrupt blob and restores it from --from', async () => {
    const { root, store, hash } = await rotted();
    const first = await repairRegistry(store);
    expect(first).toEqual({ repaired: [], quarantined: [hash], missing: [hash] });
    expect(await store.hasBlob(hash)).toBe(false); // a 404 now, never wrong bytes
    expect((await readdir(path.join(root, '.webinfer/quarantine')))[0]).toMatch(new RegExp(`^${hash}-\\d+$`));
    const second = await repairRegistry(store, { from: [TINY] });
    expect(second).toEqual({ repaired: [hash], quarantined: [], missing: [] });
    expect(await verifyRegistry(store)).toEqual([]);
  });
});
