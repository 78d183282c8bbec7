/**
 * The static form: `export` writes the public tree, nginx (Debian's, with the shipped
 * deploy/nginx.conf) serves it with the protocol's headers; and the CLI drives a remote service
 * (publish with upload, promote, rollback, yank, list, inspect) with a token.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportStatic, verifyRegistry } from '../src/ops.js';
import { publish } from '../src/publish.js';
import { RegistryStore } from '../src/store.js';
import { paths } from 'webinfer/protocol';
import { startNginx, type RunningNginx } from '../../test/support/nginx.js';
import { rawGet, repo, seed, sha256, snapshot, startService, tempDir, TINY, tinyCard, type Service } from './helpers/registry.js';

const run = promisify(execFile);
let tmp: string;
let cleanup: () => Promise<void>;
let root: string;
let out: string;
let nginx: RunningNginx;

beforeAll(async () => {
  ({ dir: tmp, cleanup } = await tempDir('webinfer-static-'));
  root = path.join(tmp, 'registry');
  out = path.join(tmp, 'www');
  await seed(root);
  await publish({ modelDir: TINY, root, id: 'secret-cnn', version: '1.0.0', card: await tinyCard(), private: true });
  await writeFile(path.join(root, 'v1/blobs/sha256/.tmp-blob-1-leftover'), 'partial');
  await exportStatic(new RegistryStore(root), out);
  await writeFile(path.join(out, '.lock'), 'writer');
  nginx = await startNginx(out);
});
afterAll(async () => {
  await nginx?.close();
  await cleanup?.();
});

describe('export', () => {
  it('writes the public models only, consistent, without temp files', async () => {
    const store = new RegistryStore(out);
    expect(await verifyRegistry(store)).toEqual([]);
    expect((await store.readCatalog())!.models.map((m) => m.id)).toEqual(['tiny-cnn']);
    expect(await store.readIndex('secret-cnn')).toBeUndefined();
    const files = (await readdir(out, { recursive: true })).map(String);
    expect(files.filter((f) => path.basename(f).startsWith('.tmp-'))).toEqual([]);
    // Documents are byte-identical to the source tree.
    for (const rel of [paths.index('tiny-cnn'), paths.manifest('tiny-cnn', '1.0.0')]) {
      expect((await readFile(path.join(out, rel))).equals(await readFile(path.join(root, rel)))).toBe(true);
    }
  });
});

describe('nginx with deploy/nginx.conf', () => {
  it('serves documents as JSON with ETag/304, no-cache indexes, CORS and CORP', async () => {
    for (const p of ['/v1/models.json', '/v1/models/tiny-cnn/index.json', '/v1/models/tiny-cnn/versions/1.1.0.json']) {
      const r = await fetch(`${nginx.url}${p}`);
      expect(r.status, p).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      expect(JSON.parse(await r.text())).toEqual(JSON.parse(await readFile(path.join(out, p.slice(1)), 'utf8')));
      const etag = r.headers.get('etag')!;
      expect(etag).toBeTruthy();
      const again = await fetch(`${nginx.url}${p}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(again.headers.get('access-control-allow-origin')).toBe('*');
    }
    expect((await fetch(`${nginx.url}/v1/models/tiny-cnn/index.json`)).headers.get('cache-control')).toBe('public, no-cache');
    expect((await fetch(`${nginx.url}/v1/models/tiny-cnn/versions/1.0.0.json`)).headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('serves blobs immutable with ranges, and preflights allow Authorization', async () => {
    const m = (await new RegistryStore(out).readManifest('tiny-cnn', '1.0.0'))!;
    const f = m.variants.float32.files[1]!;
    const r = await fetch(`${nginx.url}/v1/blobs/sha256/${f.sha256}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(sha256(new Uint8Array(await r.arrayBuffer()))).toBe(f.sha256);
    const part = await fetch(`${nginx.url}/v1/blobs/sha256/${f.sha256}`, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${f.size}`);
    const pre = await fetch(`${nginx.url}/v1/blobs/sha256/${f.sha256}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('never serves dot-files (lock, temp files) and answers 404 uncached', async () => {
    for (const p of ['/.lock', '/v1/blobs/sha256/.tmp-blob-1-leftover', '/v1/models/nope/index.json', '/nothing']) {
      const r = await rawGet(nginx.url, p);
      expect(r.status, p).toBe(404);
      expect(r.headers['cache-control'], p).toBe('no-store');
    }
  });
});

describe('the CLI against a remote service', () => {
  let svc: Service;
  let cli: (args: string[], token?: string) => Promise<{ code: number; stdout: string; stderr: string }>;
  beforeAll(async () => {
    const dir = path.join(tmp, 'remote');
    await seed(dir);
    svc = await startService(dir);
    cli = async (args, token) => {
      try {
        const r = await run(process.execPath, ['--import', 'tsx', path.join(repo, 'registry/src/cli.ts'), ...args], {
          cwd: repo,
          env: { ...process.env, WEBINFER_REGISTRY_TOKEN: token ?? '' },
        });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (e) {
        const x = e as { code: number; stdout: string; stderr: string };
        return { code: x.code, stdout: x.stdout, stderr: x.stderr };
      }
    };
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('publishes (uploading only missing blobs), promotes, rolls back, yanks, lists and inspects', async () => {
    const reg = ['--registry', svc.url];
    const card = path.join(TINY, 'card.json');
    // tiny-cnn's files with new weights: model.json is already on the service, the shard is not.
    const model = path.join(tmp, 'remote-model');
    await cp(TINY, model, { recursive: true });
    await writeFile(path.join(model, 'group1-shard1of1.bin'), randomBytes(27240));
    const denied = await cli(['publish', model, ...reg, '--id', 'remote-cnn', '--version', '1.0.0', '--card', card, '--no-progress']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('HTTP 401 UNAUTHORIZED');

    const p1 = await cli(['publish', model, ...reg, '--id', 'remote-cnn', '--version', '1.0.0', '--alias', 'stable', '--card', card], svc.tokens.publish);
    expect(p1.stderr).toContain('100%');
    expect(p1.stdout).toBe('published remote-cnn@1.0.0 (image-classification, tfjs-layers, 2 files, 29087 bytes); aliases: latest, stable\n');
    const p2 = await cli(['publish', model, ...reg, '--id', 'remote-cnn', '--version', '1.1.0', '--card', card, '--no-progress'], svc.tokens.publish);
    expect(p2.code).toBe(0);
    const again = await cli(['publish', model, ...reg, '--id', 'remote-cnn', '--version', '1.1.0', '--card', card, '--no-progress'], svc.tokens.publish);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409 EXISTS');

    expect((await cli(['promote', 'remote-cnn', 'stable', '1.1.0', ...reg], svc.tokens.publish)).stdout).toBe('remote-cnn: stable: 1.0.0 -> 1.1.0\n');
    const stale = await cli(['promote', 'remote-cnn', 'stable', '1.0.0', ...reg, '--if-match', '"0000"'], svc.tokens.publish);
    expect(stale.stderr).toContain('412 PRECONDITION_FAILED');
    expect((await cli(['rollback', 'remote-cnn', 'stable', ...reg], svc.tokens.publish)).stdout).toBe('remote-cnn: stable: 1.1.0 -> 1.0.0 (rollback)\n');
    expect((await cli(['yank', 'remote-cnn', '1.1.0', ...reg], svc.tokens.publish)).stderr).toContain('403 FORBIDDEN');
    expect((await cli(['yank', 'remote-cnn', '1.1.0', ...reg], svc.tokens.admin)).stdout).toBe('remote-cnn: 1.1.0: yanked\n');
    expect((await cli(['list', ...reg])).stdout).toContain('remote-cnn\timage-classification\tlatest=1.0.0 stable=1.0.0\tversions: 1.0.0\n');
    const inspect = JSON.parse((await cli(['inspect', 'remote-cnn@1.1.0', ...reg])).stdout) as { version: string };
    expect(inspect.version).toBe('1.1.0');
    const audit = svc.logs.filter((l) => l['type'] === 'audit' && l['status'] !== 'refused').map((l) => `${String(l['token'])} ${String(l['action'])} ${String(l['target'])}`);
    expect(audit).toEqual([
      expect.stringMatching(/^ci blob\.put [0-9a-f]{64}$/),
      'ci publish remote-cnn@1.0.0',
      'ci publish remote-cnn@1.1.0',
      'ci promote remote-cnn@stable',
      'ci rollback remote-cnn@stable',
      'ops yank remote-cnn@1.1.0',
    ]);
    expect(await verifyRegistry(new RegistryStore(svc.root))).toEqual([]);
  });

  it('export from the service writes a verified static tree of its public models', async () => {
    await publish({ modelDir: TINY, root: svc.root, id: 'hidden-cnn', version: '1.0.0', card: await tinyCard(), private: true });
    const www = path.join(tmp, 'remote-www');
    const r = await cli(['export', '--registry', svc.url, '--out', www], svc.tokens.read);
    expect(r.stdout).toMatch(/^exported \d+ model\(s\), \d+ manifest\(s\), \d+ blob\(s\)/);
    const store = new RegistryStore(www);
    expect(await verifyRegistry(store)).toEqual([]);
    const ids = (await store.readCatalog())!.models.map((m) => m.id);
    expect(ids).toContain('tiny-cnn');
    expect(ids).not.toContain('hidden-cnn');
    expect(await store.readIndex('hidden-cnn')).toBeUndefined();
    expect(await store.readIndex('tiny-cnn')).toEqual(await new RegistryStore(svc.root).readIndex('tiny-cnn'));
  });

  it('a command with neither or both of --root and --registry is refused without side effects', async () => {
    const before = await snapshot(svc.root);
    const r = await cli(['promote', 'tiny-cnn', 'stable', '1.1.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('give exactly one of --root');
    expect(await snapshot(svc.root)).toEqual(before);
  });
});
