/**
 * The registry service over real HTTP on 127.0.0.1: every read and write endpoint, token scopes,
 * every refusal (with its 4xx JSON error and nothing changed on disk), races, metrics and logs.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { paths } from 'webinfer/protocol';
import { check, ModelIndex } from 'webinfer/protocol';
import { TokenStore } from '../src/tokens.js';
import { verifyRegistry } from '../src/ops.js';
import { RegistryStore } from '../src/store.js';
import { bearer, rawGet, seed, sha256, snapshot, startService, tempDir, type Service } from './helpers/registry.js';

let svc: Service;
let cleanup: () => Promise<void>;
let n = 0;

beforeAll(async () => {
  const t = await tempDir('webinfer-svc-');
  cleanup = t.cleanup;
  await seed(t.dir);
  svc = await startService(t.dir, { maxBlobBytes: 1024 * 1024, uploadStallMs: 2000, maxJsonBytes: 64 * 1024 });
});
afterAll(async () => {
  await svc?.close();
  await cleanup?.();
});
beforeEach(() => {
  svc.logs.length = 0;
});

const get = (p: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${svc.url}${p}`, { headers });
const errorOf = async (r: Response): Promise<{ code: string; message: string }> => {
  expect(r.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await r.json()) as { error: { code: string; message: string } };
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(5);
  return body.error;
};
const manifestOf = async (id: string, version: string): Promise<Record<string, any>> => JSON.parse(await readFile(path.join(svc.root, paths.manifest(id, version)), 'utf8'));
const indexEtag = async (id: string): Promise<string> => (await get(`/v1/${`models/${id}/index.json`}`, bearer(svc.tokens.read))).headers.get('etag')!;

/** Puts a blob; returns the response. */
const putBlob = (bytes: Uint8Array, token: string | undefined, hash = sha256(bytes)): Promise<Response> =>
  fetch(`${svc.url}/v1/blobs/sha256/${hash}`, { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer>, headers: token ? bearer(token) : {} });

/** Publishes `version` of `id` over HTTP: the tiny-cnn files with another description (blobs exist already). */
async function publishHttp(id: string, version: string, opts: { token?: string; query?: string; mutate?: (m: Record<string, any>) => void } = {}): Promise<Response> {
  const m = await manifestOf('tiny-cnn', '1.0.0');
  m.id = id;
  m.version = version;
  m.description = `${id} ${version}`;
  opts.mutate?.(m);
  return fetch(`${svc.url}/v1/models/${id}/versions/${version}.json${opts.query ?? ''}`, {
    method: 'PUT',
    body: JSON.stringify(m),
    headers: { 'content-type': 'application/json', ...bearer(opts.token ?? svc.tokens.publish) },
  });
}

describe('reads: the protocol v1 layout, as the static tree serves it', () => {
  it('serves documents as JSON with a strong ETag, 304 on If-None-Match, and CORS/CORP on every answer', async () => {
    for (const p of ['/v1/models.json', '/v1/models/tiny-cnn/index.json', '/v1/models/tiny-cnn/versions/1.0.0.json']) {
      const r = await get(p);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      const body = Buffer.from(await r.arrayBuffer());
      expect(body.equals(await readFile(path.join(svc.root, p.slice(1))))).toBe(true);
      const etag = r.headers.get('etag')!;
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      const again = await get(p, { 'if-none-match': etag });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      expect(again.headers.get('access-control-allow-origin')).toBe('*');
      expect((await get(p, { 'if-none-match': '"other"' })).status).toBe(200);
    }
    expect((await get('/v1/models/tiny-cnn/index.json')).headers.get('cache-control')).toBe('public, no-cache');
    expect((await get('/v1/models/tiny-cnn/versions/1.0.0.json')).headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('serves blobs immutable, with ranges (206), suffix ranges, 416 and HEAD', async () => {
    const m = await manifestOf('tiny-cnn', '1.0.0');
    const f = m.variants.float32.files[1] as { sha256: string; size: number };
    const bytes = await readFile(path.join(svc.root, paths.blob(f.sha256)));
    const r = await get(`/v1/blobs/sha256/${f.sha256}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(sha256(new Uint8Array(await r.arrayBuffer()))).toBe(f.sha256);

    const part = await get(`/v1/blobs/sha256/${f.sha256}`, { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${f.size}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);

    const tail = await get(`/v1/blobs/sha256/${f.sha256}`, { range: 'bytes=-16' });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 16))).toBe(true);

    const resume = await get(`/v1/blobs/sha256/${f.sha256}`, { range: `bytes=${f.size - 10}-` });
    expect(resume.status).toBe(206);
    expect((await resume.arrayBuffer()).byteLength).toBe(10);

    const bad = await get(`/v1/blobs/sha256/${f.sha256}`, { range: `bytes=${f.size}-` });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${f.size}`);

    const head = await fetch(`${svc.url}/v1/blobs/sha256/${f.sha256}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(f.size));
    expect((await get(`/v1/blobs/sha256/${f.sha256}`, { 'if-none-match': `"${f.sha256}"` })).status).toBe(304);
  });

  it('answers CORS preflights allowing Authorization', async () => {
    const r = await fetch(`${svc.url}/v1/models/tiny-cnn/index.json`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('404s are JSON errors, never cached', async () => {
    for (const p of ['/v1/models/nope/index.json', '/v1/models/tiny-cnn/versions/9.9.9.json', `/v1/blobs/sha256/${'a'.repeat(64)}`, '/v2/models.json']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect((await errorOf(r)).code).toBe('NOT_FOUND');
    }
  });
});

describe('path traversal and malformed names', () => {
  it('refuses ../, percent-encoded and absolute paths with a 4xx JSON error and never serves outside the tree', async () => {
    await writeFile(path.join(path.dirname(svc.root), 'secret.txt'), 'root:x:0:0');
    const attempts = [
      '/v1/models/../../secret.txt',
      '/v1/blobs/sha256/..%2f..%2f..%2fsecret.txt',
      '/v1/blobs/sha256/%2e%2e/%2e%2e/%2e%2e/secret.txt',
      '/v1/models/%2e%2e/index.json',
      '/v1/models/..%252f..%252fsecret/index.json',
      '/v1/models/tiny-cnn/versions/..%2f..%2findex.json',
      '/v1/models/tiny-cnn/versions/%2fetc%2fpasswd.json',
      '//etc/passwd',
      '/v1/models/a%00b/index.json',
      '/v1/models/tiny-cnn%5c..%5c/index.json',
      '/.webinfer/tokens.json',
      '/.lock',
      '/v1/blobs/sha256/.tmp-blob-1-abc',
    ];
    for (const p of attempts) {
      const r = await rawGet(svc.url, p);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.status, p).toBeLessThan(500);
      expect(r.body, p).not.toContain('root:x');
      expect(r.body, p).not.toContain('webinfer.tokens');
      const body = JSON.parse(r.body) as { error: { code: string } };
      expect(body.error.code, p).toMatch(/^(INVALID_PATH|INVALID_ID|INVALID_VERSION|INVALID_HASH|NOT_FOUND)$/);
    }
  });

  it('names the problem: invalid id, version, hash (length, alphabet, case), alias', async () => {
    expect((await errorOf(await get('/v1/models/Tiny/index.json'))).code).toBe('INVALID_ID');
    expect((await errorOf(await get('/v1/models/tiny-cnn/versions/v1.0.json'))).code).toBe('INVALID_VERSION');
    expect((await errorOf(await get('/v1/models/tiny-cnn/versions/1.0.json'))).code).toBe('INVALID_VERSION');
    for (const h of ['abc', 'a'.repeat(63), 'a'.repeat(65), 'A'.repeat(64), 'g'.repeat(64)]) {
      const r = await get(`/v1/blobs/sha256/${h}`);
      expect(r.status, h).toBe(400);
      expect((await errorOf(r)).code).toBe('INVALID_HASH');
    }
    const r = await fetch(`${svc.url}/v1/models/tiny-cnn/aliases/Stable`, { method: 'PUT', headers: { ...bearer(svc.tokens.publish), 'if-match': '"x"' }, body: '{"version":"1.0.0"}' });
    expect((await errorOf(r)).code).toBe('INVALID_ALIAS');
  });
});

describe('tokens and scopes', () => {
  it('stores only hashes; no write without a token; scopes read < publish < admin; revocation', async () => {
    const file = await readFile(path.join(svc.root, '.webinfer/tokens.json'), 'utf8');
    for (const t of Object.values(svc.tokens)) expect(file).not.toContain(t);
    expect(file).toContain(sha256(svc.tokens.publish));

    const before = await snapshot(svc.root);
    const blob = randomBytes(100);
    const writes: Array<[string, string, string?]> = [
      ['PUT', `/v1/blobs/sha256/${sha256(blob)}`],
      ['PUT', '/v1/models/tiny-cnn/versions/3.0.0.json', '{}'],
      ['PUT', '/v1/models/tiny-cnn/aliases/stable', '{"version":"1.1.0"}'],
      ['POST', '/v1/models/tiny-cnn/aliases/stable/rollback'],
      ['POST', '/v1/models/tiny-cnn/versions/1.0.0/yank'],
      ['POST', '/v1/admin/gc'],
    ];
    for (const [method, p, body] of writes) {
      const r = await fetch(`${svc.url}${p}`, { method, body: body ?? (method === 'PUT' ? blob : undefined), headers: { 'if-match': '*' } });
      expect(r.status, `${method} ${p}`).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await errorOf(r)).code).toBe('UNAUTHORIZED');
      const bad = await fetch(`${svc.url}${p}`, { method, headers: { ...bearer('wi_not-a-token'), 'if-match': '*' } });
      expect((await errorOf(bad)).code).toBe('INVALID_TOKEN');
      const reader = await fetch(`${svc.url}${p}`, { method, headers: { ...bearer(svc.tokens.read), 'if-match': '*' } });
      expect(reader.status, `read token: ${method} ${p}`).toBe(403);
      expect((await errorOf(reader)).code).toBe('FORBIDDEN');
    }
    for (const [method, p] of writes.slice(4)) {
      const r = await fetch(`${svc.url}${p}`, { method, headers: bearer(svc.tokens.publish) });
      expect(r.status, `publish token: ${method} ${p}`).toBe(403);
    }
    expect(await snapshot(svc.root)).toEqual(before);

    const ts = new TokenStore(svc.root);
    const { token } = await ts.create('temp', ['publish']);
    expect((await putBlob(randomBytes(10), token)).status).toBe(201);
    await ts.revoke('temp');
    const revoked = await putBlob(randomBytes(10), token);
    expect(revoked.status).toBe(401);
    expect((await errorOf(revoked)).code).toBe('INVALID_TOKEN');
  });
});

describe('blob upload', () => {
  it('streams to disk, hashes what arrived, is idempotent, and refuses a mismatch without leaving anything', async () => {
    const bytes = randomBytes(300_000);
    const r = await putBlob(bytes, svc.tokens.publish);
    expect(r.status).toBe(201);
    expect(await r.json()).toEqual({ sha256: sha256(bytes), size: bytes.length, created: true });
    expect(sha256(await readFile(path.join(svc.root, paths.blob(sha256(bytes)))))).toBe(sha256(bytes));
    const again = await putBlob(bytes, svc.tokens.publish);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { created: boolean }).created).toBe(false);

    const before = await snapshot(svc.root);
    const other = randomBytes(1000);
    const wrong = await putBlob(other, svc.tokens.publish, sha256(randomBytes(8)));
    expect(wrong.status).toBe(422);
    expect((await errorOf(wrong)).code).toBe('HASH_MISMATCH');
    expect(await snapshot(svc.root)).toEqual(before);
    expect(svc.logs.filter((l) => l['type'] === 'audit').map((l) => [l['action'], l['token'], l['status']])).toEqual([
      ['blob.put', 'ci', 201],
      ['blob.put', 'ci', 200],
      ['blob.put', 'ci', 'refused'],
    ]);
  });

  it('refuses oversized bodies (413), declared or streamed, and leaves nothing', async () => {
    const before = await snapshot(svc.root);
    const big = randomBytes(1024 * 1024 + 1);
    const r = await putBlob(big, svc.tokens.publish);
    expect(r.status).toBe(413);
    expect((await errorOf(r)).code).toBe('TOO_LARGE');
    // Without Content-Length (chunked), the limit is enforced while streaming.
    const chunked = await new Promise<number>((resolve, reject) => {
      const u = new URL(svc.url);
      const req = request({ host: u.hostname, port: u.port, method: 'PUT', path: `/v1/blobs/sha256/${sha256(big)}`, headers: { ...bearer(svc.tokens.publish), 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let o = 0; o < big.length; o += 65536) req.write(big.subarray(o, o + 65536));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(await snapshot(svc.root)).toEqual(before);
  });

  it('refuses an upload that stalls (408) and removes its partial file', async () => {
    const bytes = randomBytes(200_000);
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(svc.url);
      const req = request(
        { host: u.hostname, port: u.port, method: 'PUT', path: `/v1/blobs/sha256/${sha256(bytes)}`, headers: { ...bearer(svc.tokens.publish), 'content-length': String(bytes.length) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', () => undefined);
      req.write(bytes.subarray(0, 50_000)); // then nothing: the service's stall timer (2 s here) fires
      setTimeout(() => reject(new Error('no answer to a stalled upload')), 20_000).unref();
    });
    expect(status).toBe(408);
    const blobDir = path.join(svc.root, 'v1/blobs/sha256');
    // The temp file is removed once the failed write is cleaned up.
    for (let i = 0; i < 100 && (await readdir(blobDir)).some((f) => f.startsWith('.tmp-')); i++) await new Promise((r) => setTimeout(r, 50));
    expect((await readdir(blobDir)).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    expect((await readdir(blobDir))).not.toContain(sha256(bytes));
  });
});

describe('publish over HTTP', () => {
  it('publishes a version whose blobs exist; versions are immutable (409)', async () => {
    const r = await publishHttp('svc-model', '1.0.0', { query: '?alias=stable' });
    expect(r.status).toBe(201);
    const body = (await r.json()) as { aliases: Record<string, string> };
    expect(body.aliases).toEqual({ latest: '1.0.0', stable: '1.0.0' });
    expect(r.headers.get('etag')).toMatch(/^"/);
    const idx = check(ModelIndex, JSON.parse(await readFile(path.join(svc.root, paths.index('svc-model')), 'utf8')));
    expect(idx.ok && idx.value.versions.map((v) => v.version)).toEqual(['1.0.0']);
    const catalog = (await (await get('/v1/models.json')).json()) as { models: Array<{ id: string }> };
    expect(catalog.models.map((m) => m.id)).toContain('svc-model');

    const before = await snapshot(svc.root);
    const again = await publishHttp('svc-model', '1.0.0', { mutate: (m) => (m.description = 'changed') });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe('EXISTS');
    expect(await snapshot(svc.root)).toEqual(before);
    expect(svc.logs.filter((l) => l['type'] === 'audit').map((l) => [l['action'], l['target'], l['token'], l['status']])).toEqual([
      ['publish', 'svc-model@1.0.0', 'ci', 201],
      ['publish', 'svc-model@1.0.0', 'ci', 'refused'],
    ]);
  });

  it('refuses a manifest that references a missing blob, malformed JSON, schema violations, URL/body disagreement, oversized bodies — changing nothing', async () => {
    const before = await snapshot(svc.root);
    const missing = await publishHttp('svc-bad', '1.0.0', { mutate: (m) => (m.variants.float32.files[1].sha256 = 'b'.repeat(64)) });
    expect(missing.status).toBe(422);
    const e = await errorOf(missing);
    expect(e.code).toBe('MISSING_BLOBS');
    expect(e.message).toContain('b'.repeat(64));

    const put = (p: string, body: string): Promise<Response> =>
      fetch(`${svc.url}${p}`, { method: 'PUT', body, headers: { 'content-type': 'application/json', ...bearer(svc.tokens.publish) } });
    expect((await errorOf(await put('/v1/models/svc-bad/versions/1.0.0.json', '{"schema": '))).code).toBe('INVALID_JSON');
    expect((await errorOf(await put('/v1/models/svc-bad/versions/1.0.0.json', ''))).code).toBe('INVALID_JSON');
    expect((await errorOf(await put('/v1/models/svc-bad/versions/1.0.0.json', '[1,2]'))).code).toBe('INVALID_MANIFEST');
    const schema = await publishHttp('svc-bad', '1.0.0', { mutate: (m) => (m.task = 'dance') });
    expect(schema.status).toBe(400);
    expect((await errorOf(schema)).code).toBe('INVALID_MANIFEST');
    const noLabels = await publishHttp('svc-bad', '1.0.0', { mutate: (m) => delete m.labels });
    expect((await errorOf(noLabels)).code).toBe('INVALID_MANIFEST');
    const mismatch = await publishHttp('svc-bad', '1.0.0', { mutate: (m) => (m.version = '2.0.0') });
    expect((await errorOf(mismatch)).code).toBe('INVALID_MANIFEST');
    expect((await errorOf(await publishHttp('svc-bad', '1.0', {}))).code).toBe('INVALID_VERSION');
    expect((await errorOf(await publishHttp('svc-bad', '01.0.0', {}))).code).toBe('INVALID_VERSION');
    expect((await errorOf(await publishHttp('svc-bad', '1.0.0', { query: '?alias=Bad!' }))).code).toBe('INVALID_ALIAS');
    const huge = await publishHttp('svc-bad', '1.0.0', { mutate: (m) => (m.description = 'x'.repeat(100_000)) });
    expect(huge.status).toBe(413);
    expect(await snapshot(svc.root)).toEqual(before);
  });

  it('two concurrent publishes of one version: exactly one wins', async () => {
    const results = await Promise.all([publishHttp('svc-race', '1.0.0'), publishHttp('svc-race', '1.0.0'), publishHttp('svc-race', '1.0.0')]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await verifyRegistry(new RegistryStore(svc.root))).toEqual([]);
  });
});

describe('aliases: promote, rollback (If-Match), yank', () => {
  const move = (id: string, alias: string, version: string, etag: string | undefined, token = svc.tokens.publish): Promise<Response> =>
    fetch(`${svc.url}/v1/models/${id}/aliases/${alias}`, {
      method: 'PUT',
      body: JSON.stringify({ version }),
      headers: { 'content-type': 'application/json', ...bearer(token), ...(etag ? { 'if-match': etag } : {}) },
    });
  const rollback = (id: string, alias: string, etag: string | undefined): Promise<Response> =>
    fetch(`${svc.url}/v1/models/${id}/aliases/${alias}/rollback`, { method: 'POST', headers: { ...bearer(svc.tokens.publish), ...(etag ? { 'if-match': etag } : {}) } });
  const index = async (id: string): Promise<ModelIndex> => (await (await get(`/v1/models/${id}/index.json`)).json()) as ModelIndex;

  it('promotes with If-Match, keeps the history, rolls back to the previous target', async () => {
    expect((await publishHttp('svc-alias', '1.0.0', { query: '?alias=stable' })).status).toBe(201);
    expect((await publishHttp('svc-alias', '1.1.0')).status).toBe(201);
    const missing = await move('svc-alias', 'stable', '1.1.0', undefined);
    expect(missing.status).toBe(428);
    expect((await errorOf(missing)).code).toBe('PRECONDITION_REQUIRED');

    const etag = await indexEtag('svc-alias');
    const r = await move('svc-alias', 'stable', '1.1.0', etag);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { change: string }).change).toBe('stable: 1.0.0 -> 1.1.0');
    expect(r.headers.get('etag')).not.toBe(etag);
    expect(r.headers.get('etag')).toBe(await indexEtag('svc-alias'));

    const before = await snapshot(svc.root);
    const stale = await move('svc-alias', 'stable', '1.0.0', etag);
    expect(stale.status).toBe(412);
    expect((await errorOf(stale)).code).toBe('PRECONDITION_FAILED');
    expect(await snapshot(svc.root)).toEqual(before);

    const rb = await rollback('svc-alias', 'stable', await indexEtag('svc-alias'));
    expect(rb.status).toBe(200);
    expect(((await rb.json()) as { version: string }).version).toBe('1.0.0');
    const idx = await index('svc-alias');
    expect(idx.aliases['stable']).toBe('1.0.0');
    expect(idx.history['stable']!.map((h) => h.version)).toEqual(['1.0.0', '1.1.0', '1.0.0']);

    expect((await errorOf(await move('svc-alias', 'stable', '9.0.0', await indexEtag('svc-alias')))).code).toBe('NOT_FOUND');
    expect((await errorOf(await move('svc-alias', 'latest', '1.0.0', await indexEtag('svc-alias')))).code).toBe('INVALID');
    expect((await errorOf(await rollback('svc-alias', 'canary', await indexEtag('svc-alias')))).code).toBe('NOT_FOUND');
    expect((await errorOf(await move('nope', 'stable', '1.0.0', '"x"'))).code).toBe('NOT_FOUND');
    expect((await errorOf(await move('svc-alias', 'stable', 'x', await indexEtag('svc-alias')))).code).toBe('INVALID_VERSION');
    const audits = svc.logs.filter((l) => l['type'] === 'audit' && (l['action'] === 'promote' || l['action'] === 'rollback'));
    expect(audits.filter((a) => a['status'] === 200).map((a) => a['change'])).toEqual(['stable: 1.0.0 -> 1.1.0', 'stable: 1.1.0 -> 1.0.0 (rollback)']);
    for (const a of audits) expect(a).toMatchObject({ token: 'ci', target: expect.stringMatching(/^(svc-alias|nope)@/), time: expect.any(String) });
  });

  it('two concurrent alias moves from the same ETag: one wins, the other gets 412, no lost update', async () => {
    expect((await publishHttp('svc-cas', '1.0.0', { query: '?alias=stable' })).status).toBe(201);
    expect((await publishHttp('svc-cas', '1.1.0')).status).toBe(201);
    expect((await publishHttp('svc-cas', '1.2.0')).status).toBe(201);
    for (let round = 0; round < 5; round++) {
      const etag = await indexEtag('svc-cas');
      const before = (await index('svc-cas')).history['stable']!.length;
      const [a, b] = await Promise.all([move('svc-cas', 'stable', '1.1.0', etag), move('svc-cas', 'stable', '1.2.0', etag)]);
      expect([a.status, b.status].sort()).toEqual([200, 412]);
      const winner = a.status === 200 ? '1.1.0' : '1.2.0';
      const idx = await index('svc-cas');
      expect(idx.aliases['stable']).toBe(winner);
      expect(idx.history['stable']!.length).toBe(before + (idx.history['stable']!.at(-2)?.version === winner ? 0 : 1));
      expect(idx.history['stable']!.at(-1)!.version).toBe(winner);
      // Reset to 1.0.0 for the next round.
      expect((await move('svc-cas', 'stable', '1.0.0', await indexEtag('svc-cas'))).status).toBe(200);
    }
  });

  it('a yanked version stays downloadable when pinned and is never chosen by an alias', async () => {
    expect((await publishHttp('svc-yank', '1.0.0', { query: '?alias=stable' })).status).toBe(201);
    expect((await publishHttp('svc-yank', '2.0.0')).status).toBe(201);
    const yank = (v: string, token = svc.tokens.admin, body?: string): Promise<Response> =>
      fetch(`${svc.url}/v1/models/svc-yank/versions/${v}/yank`, { method: 'POST', headers: bearer(token), ...(body ? { body } : {}) });
    expect((await index('svc-yank')).aliases['latest']).toBe('2.0.0');
    const held = await yank('1.0.0');
    expect(held.status).toBe(409);
    expect((await errorOf(held)).message).toContain('stable');

    const r = await yank('2.0.0');
    expect(r.status).toBe(200);
    const idx = await index('svc-yank');
    expect(idx.versions.find((v) => v.version === '2.0.0')!.yanked).toBe(true);
    expect(idx.aliases['latest']).toBe('1.0.0');
    expect((await get('/v1/models/svc-yank/versions/2.0.0.json')).status).toBe(200);
    const catalog = (await (await get('/v1/models.json')).json()) as { models: Array<{ id: string; versions: string[] }> };
    expect(catalog.models.find((m) => m.id === 'svc-yank')!.versions).toEqual(['1.0.0']);
    const promote = await move('svc-yank', 'stable', '2.0.0', await indexEtag('svc-yank'));
    expect(promote.status).toBe(409);
    expect((await errorOf(promote)).message).toContain('yanked');

    expect((await yank('2.0.0', svc.tokens.admin, '{"yanked":false}')).status).toBe(200);
    expect((await index('svc-yank')).aliases['latest']).toBe('2.0.0');
    expect(svc.logs.filter((l) => l['type'] === 'audit' && l['status'] === 200).map((l) => [l['action'], l['token']])).toEqual([
      ['yank', 'ops'],
      ['unyank', 'ops'],
    ]);
  });
});

describe('private models', () => {
  it('need a read token for their documents and blobs; the anonymous catalogue leaves them out', async () => {
    const secret = randomBytes(5000);
    expect((await putBlob(secret, svc.tokens.publish)).status).toBe(201);
    const r = await publishHttp('svc-private', '1.0.0', {
      query: '?private=true&alias=stable',
      mutate: (m) => {
        m.variants.float32.files.push({ path: 'extra.bin', size: secret.length, sha256: sha256(secret) });
      },
    });
    expect(r.status).toBe(201);
    for (const p of ['/v1/models/svc-private/index.json', '/v1/models/svc-private/versions/1.0.0.json', `/v1/blobs/sha256/${sha256(secret)}`]) {
      const anon = await get(p);
      expect(anon.status, p).toBe(401);
      expect((await errorOf(anon)).code).toBe('UNAUTHORIZED');
      const ok = await get(p, bearer(svc.tokens.read));
      expect(ok.status, p).toBe(200);
      expect(ok.headers.get('cache-control')).toMatch(/^private/);
    }
    // A blob shared with a public model stays public.
    const shared = (await manifestOf('tiny-cnn', '1.0.0')).variants.float32.files[1].sha256 as string;
    expect((await get(`/v1/blobs/sha256/${shared}`)).status).toBe(200);
    const anonCatalog = (await (await get('/v1/models.json')).json()) as { models: Array<{ id: string }> };
    expect(anonCatalog.models.map((m) => m.id)).not.toContain('svc-private');
    const fullCatalog = (await (await get('/v1/models.json', bearer(svc.tokens.read))).json()) as { models: Array<{ id: string }> };
    expect(fullCatalog.models.map((m) => m.id)).toContain('svc-private');
  });
});

describe('observability', () => {
  it('/healthz, and /metrics in Prometheus text with requests by route and status, bytes served and latency', async () => {
    const h = await get('/healthz');
    expect(h.status).toBe(200);
    expect(((await h.json()) as { ok: boolean }).ok).toBe(true);
    const m = await manifestOf('tiny-cnn', '1.0.0');
    const f = m.variants.float32.files[1] as { sha256: string; size: number };
    const scrape = async (): Promise<string> => (await get('/metrics')).text();
    const value = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
    const blobRe = /^webinfer_registry_http_requests_total\{route="blob",method="GET",status="200"\} (\d+)$/m;
    const bytesRe = /^webinfer_registry_http_response_bytes_total\{route="blob"\} (\d+)$/m;
    const t0 = await scrape();
    for (let i = 0; i < 3; i++) await (await get(`/v1/blobs/sha256/${f.sha256}`)).arrayBuffer();
    await get('/v1/models/nope/index.json');
    const t1 = await scrape();
    expect(value(t1, blobRe) - value(t0, blobRe)).toBe(3);
    expect(value(t1, bytesRe) - value(t0, bytesRe)).toBe(3 * f.size);
    expect(t1).toMatch(/^webinfer_registry_http_requests_total\{route="index",method="GET",status="404"\} \d+$/m);
    expect(t1).toMatch(/^webinfer_registry_http_request_duration_seconds_bucket\{le="0\.005",route="blob",method="GET"\} \d+$/m);
    expect((await get('/metrics')).headers.get('content-type')).toMatch(/^text\/plain/);
    const access = svc.logs.filter((l) => l['type'] === 'access' && l['route'] === 'blob');
    expect(access.length).toBe(3);
    expect(access[0]).toMatchObject({ method: 'GET', status: 200, bytes: f.size, path: `/v1/blobs/sha256/${f.sha256}` });
    expect(typeof access[0]!['ms']).toBe('number');
  });
});

describe('gc over HTTP', () => {
  it('removes temp leftovers and orphan blobs, never referenced blobs', async () => {
    const blobDir = path.join(svc.root, 'v1/blobs/sha256');
    await writeFile(path.join(blobDir, '.tmp-blob-999-deadbeef'), 'partial');
    const orphan = randomBytes(64);
    expect((await putBlob(orphan, svc.tokens.publish)).status).toBe(201);
    const r = await fetch(`${svc.url}/v1/admin/gc?minAgeMs=0`, { method: 'POST', headers: bearer(svc.tokens.admin) });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { temp: string[]; orphans: string[] };
    expect(body.temp).toContain('v1/blobs/sha256/.tmp-blob-999-deadbeef');
    expect(body.orphans).toContain(`v1/blobs/sha256/${sha256(orphan)}`);
    await expect(stat(path.join(blobDir, sha256(orphan)))).rejects.toThrow();
    expect(await verifyRegistry(new RegistryStore(svc.root))).toEqual([]);
    expect((await fetch(`${svc.url}/v1/admin/gc?minAgeMs=-1`, { method: 'POST', headers: bearer(svc.tokens.admin) })).status).toBe(400);
  });
});
