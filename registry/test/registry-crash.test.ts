/**
 * Crash safety: a publisher SIGKILLed at any point (mid-blob, between blobs and manifest), or a
 * service SIGKILLed mid-upload, leaves a consistent store — no manifest references a missing or
 * partial blob, everything acknowledged is still there, leftovers are never served and gc
 * removes them — and the next publish of the same version succeeds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gc, verifyRegistry } from '../src/ops.js';
import { publish } from '../src/publish.js';
import { RegistryStore } from '../src/store.js';
import { TokenStore } from '../src/tokens.js';
import { paths } from 'webinfer/protocol';
import { bearer, rawGet, repo, sha256, tempDir, TINY } from './helpers/registry.js';

/** One process (no tsx wrapper process), so SIGKILL hits the process doing the writes. */
const TSX_ARGS = ['--import', 'tsx'];
let tmp: string;
let cleanup: () => Promise<void>;
let bigModel: string;
const SHARD = 3 * 1024 * 1024;

beforeAll(async () => {
  ({ dir: tmp, cleanup } = await tempDir('webinfer-crash-'));
  // A "large-ish" layers model: tiny-cnn's topology with three 3 MiB random shards.
  bigModel = path.join(tmp, 'big-model');
  await mkdir(bigModel);
  const model = JSON.parse(await readFile(path.join(TINY, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
  model.weightsManifest = [{ ...model.weightsManifest[0]!, paths: ['s1.bin', 's2.bin', 's3.bin'] }];
  await writeFile(path.join(bigModel, 'model.json'), JSON.stringify(model));
  for (const s of ['s1.bin', 's2.bin', 's3.bin']) await writeFile(path.join(bigModel, s), randomBytes(SHARD));
});
afterAll(async () => {
  await cleanup?.();
});

/** Spawns a child and resolves once it printed `line` (or rejects if it exits first). */
function startUntil(args: string[], line: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...TSX_ARGS, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(line)) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before "${line}": ${out}${err}`)));
  });
}
const kill = async (child: ChildProcess): Promise<void> => {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
};
const tempFiles = async (root: string): Promise<string[]> =>
  (await readdir(path.join(root, 'v1'), { recursive: true })).map(String).filter((f) => path.basename(f).startsWith('.tmp-'));

describe('a publisher killed mid-way', () => {
  for (const point of ['mid-blob:1', 'mid-blob:3', 'before-commit']) {
    it(`SIGKILL at ${point}: the store stays consistent, acknowledged versions intact, the retry succeeds`, async () => {
      const root = path.join(tmp, `root-${point.replace(':', '-')}`);
      const child0 = await startUntil([path.join(repo, 'registry/test/helpers/crash-publish.ts'), root, bigModel, '1.0.0', 'none'], 'DONE');
      await new Promise((r) => child0.once('exit', r));
      const store = new RegistryStore(root);
      const acknowledged = await readFile(store.abs(paths.index('big')));
      await writeFile(path.join(bigModel, 's3.bin'), randomBytes(SHARD)); // 2.0.0 has a new shard

      const child = await startUntil([path.join(repo, 'registry/test/helpers/crash-publish.ts'), root, bigModel, '2.0.0', point], 'PAUSED');
      await kill(child);

      expect(await verifyRegistry(store)).toEqual([]);
      expect((await readFile(store.abs(paths.index('big')))).equals(acknowledged)).toBe(true);
      expect((await store.readIndex('big'))!.versions.map((v) => v.version)).toEqual(['1.0.0']);
      expect(await store.exists(paths.manifest('big', '2.0.0'))).toBe(false);
      const temps = await tempFiles(root);
      if (point.startsWith('mid-blob')) expect(temps.length).toBe(1);
      const blobDir = store.abs('v1/blobs/sha256');
      for (const f of await readdir(blobDir)) {
        if (f.startsWith('.tmp-')) continue;
        expect(sha256(await readFile(path.join(blobDir, f))), `blob ${f} is complete`).toBe(f);
      }

      const cleaned = await gc(store, { minAgeMs: 0 });
      expect(cleaned.temp.length).toBe(temps.length);
      expect(await tempFiles(root)).toEqual([]);
      const r = await publish({ modelDir: bigModel, root, id: 'big', version: '2.0.0', card: { task: 'image-classification', labels: Array.from({ length: 10 }, (_, i) => `c${i}`), preprocess: { width: 28, height: 28, channels: 1 } } });
      expect(r.index.versions.map((v) => v.version)).toEqual(['1.0.0', '2.0.0']);
      expect(await verifyRegistry(store)).toEqual([]);
    });
  }

  it('a manifest left by a publish killed before its index write is never resolvable and is replaced by the retry', async () => {
    const root = path.join(tmp, 'root-orphan-manifest');
    const card = { task: 'image-classification', labels: Array.from({ length: 10 }, (_, i) => `c${i}`), preprocess: { width: 28, height: 28, channels: 1 } };
    await publish({ modelDir: bigModel, root, id: 'big', version: '1.0.0', card });
    const store = new RegistryStore(root);
    // The state such a crash leaves (every write is atomic, so this is exactly it): blobs and manifest, index unchanged.
    const m = (await store.readJson(paths.manifest('big', '1.0.0'))) as Record<string, unknown>;
    await store.createJsonExclusive(paths.manifest('big', '1.1.0'), { ...m, version: '1.1.0', createdAt: '2020-01-01T00:00:00.000Z' });
    expect(await verifyRegistry(store)).toEqual([]);
    const r = await publish({ modelDir: bigModel, root, id: 'big', version: '1.1.0', card });
    expect(r.index.versions.map((v) => v.version)).toEqual(['1.0.0', '1.1.0']);
    expect(((await store.readManifest('big', '1.1.0'))!.createdAt)).not.toBe('2020-01-01T00:00:00.000Z');
  });
});

describe('a service killed mid-upload', () => {
  it('leaves only a temp file, which is never served and is removed by gc', async () => {
    const root = path.join(tmp, 'root-service');
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: JSON.parse(await readFile(path.join(TINY, 'card.json'), 'utf8')) as Record<string, unknown> });
    const { token } = await new TokenStore(root).create('ci', ['publish']);
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const args = [path.join(repo, 'registry/src/cli.ts'), 'serve', '--root', root, '--port', String(port)];
    const serveChild = (): ChildProcess => spawn(process.execPath, [...TSX_ARGS, ...args], { cwd: repo, stdio: 'ignore' });
    const waitUp = async (): Promise<void> => {
      for (let i = 0; i < 300; i++) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
        } catch {
          // starting
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('service did not start');
    };
    const server = serveChild();
    await waitUp();

    const bytes = randomBytes(4 * 1024 * 1024);
    const hash = sha256(bytes);
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/v1/blobs/sha256/${hash}`, headers: { ...bearer(token), 'content-length': String(bytes.length) } });
    req.on('error', () => undefined);
    req.write(bytes.subarray(0, 1024 * 1024));
    // Wait until the service has written part of it to its temp file, then kill it.
    const blobDir = path.join(root, 'v1/blobs/sha256');
    for (let i = 0; i < 300 && (await tempFiles(root)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await tempFiles(root)).length).toBe(1);
    await kill(server);
    req.destroy();

    const store = new RegistryStore(root);
    expect(await verifyRegistry(store)).toEqual([]);
    expect(await readdir(blobDir)).not.toContain(hash);
    const server2 = serveChild();
    try {
      await waitUp();
      const temp = path.basename((await tempFiles(root))[0]!);
      expect((await fetch(`http://127.0.0.1:${port}/v1/blobs/sha256/${hash}`)).status).toBe(404);
      expect((await rawGet(`http://127.0.0.1:${port}`, `/v1/blobs/sha256/${temp}`)).status).toBe(400);
      // The retried upload succeeds.
      const retry = await fetch(`http://127.0.0.1:${port}/v1/blobs/sha256/${hash}`, { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer>, headers: bearer(token) });
      expect(retry.status).toBe(201);
    } finally {
      await kill(server2);
    }
    const cleaned = await gc(store, { minAgeMs: 0 });
    expect(cleaned.temp.length).toBe(1);
    expect(await tempFiles(root)).toEqual([]);
  });
});
