/**
 * The service's edges (issue 15, item 7): literal '..' segments refused, JSON bodies with a deadline,
 * /healthz without the root path, /metrics behind an optional token, client hang-ups and aborted downloads
 * logged as 499 (never 500, never a full 200), `?private=true` on a public model refused, per-client
 * request-rate and connection limits, throttled failed authentication.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths } from 'webinfer/protocol';
import { bearer, rawGet, seed, sha256, snapshot, startService, tempDir, type Service } from './helpers/registry.js';

let cleanup: () => Promise<void>;
let dir: string;
let n = 0;
const services: Service[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('webinfer-edges-'));
});
afterAll(async () => {
  for (const s of services) await s.close();
  await cleanup?.();
});

async function service(opts: Parameters<typeof startService>[1] = {}): Promise<Service> {
  const root = path.join(dir, `root-${++n}`);
  await seed(root);
  const s = await startService(root, { maxBlobBytes: 8 * 1024 * 1024, ...opts });
  services.push(s);
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Waits until `pred()` holds (the access log is written when a response closes). */
async function until(pred: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !pred(); t += 20) await sleep(20);
}

describe('paths', () => {
  it('literal . and .. segments are refused, not normalised into another document', async () => {
    const s = await service();
    for (const p of ['/v1/blobs/sha256/../../models.json', '/v1/models/tiny-cnn/../../models.json', '/v1/./models.json', '/v1/models/tiny-cnn/versions/%2e%2e/index.json']) {
      const r = await rawGet(s.url, p);
      expect(r.status, p).toBe(400);
      expect((JSON.parse(r.body) as { error: { code: string } }).error.code, p).toBe('INVALID_PATH');
      expect(r.body, p).not.toContain('webinfer.catalog');
    }
    expect((await rawGet(s.url, '/v1/models.json')).status).toBe(200);
  });
});

describe('time limits', () => {
  it('a JSON body that stalls is refused with 408 after bodyTimeoutMs, and nothing is written', async () => {
    const s = await service({ bodyTimeoutMs: 300 });
    const before = await snapshot(s.root);
    const t0 = Date.now();
    const [status, body] = await new Promise<[number, string]>((resolve, reject) => {
      const req = request(`${s.url}/v1/models/tiny-cnn/versions/9.0.0.json`, { method: 'PUT', headers: { ...bearer(s.tokens.publish), 'content-type': 'application/json', 'content-length': '1000' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve([res.statusCode ?? 0, text]));
      });
      req.on('error', reject);
      req.write('{"schema": ');
      // …and nothing more.
    });
    expect([status, body]).toEqual([408, expect.stringContaining('"TIMEOUT"')]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await snapshot(s.root)).toEqual(before);
  });

  it('a client that never finishes its headers is disconnected after headersTimeoutMs', async () => {
    const s = await service({ headersTimeoutMs: 300 });
    const u = new URL(s.url);
    const sock = connect(Number(u.port), u.hostname);
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET /v1/models.json HTTP/1.1\r\nHost: x\r\n');
    const t0 = Date.now();
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString()));
    await new Promise((r) => sock.once('close', r));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('observability', () => {
  it('/healthz does not show the root path', async () => {
    const s = await service();
    const r = await fetch(`${s.url}/healthz`);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(JSON.parse(text)).toEqual({ ok: true });
    expect(text).not.toContain(s.root);
  });

  it('/metrics can be put behind a token', async () => {
    const s = await service({ metricsToken: 'metrics-secret-1' });
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`, { headers: bearer('wrong') })).status).toBe(401);
    const ok = await fetch(`${s.url}/metrics`, { headers: bearer('metrics-secret-1') });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/webinfer_registry_http_requests_total/);
    const open = await service();
    expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
  });

  it('a client that hangs up mid-upload is logged and counted as 499, not as a 500 server error', async () => {
    const s = await service();
    const bytes = randomBytes(2 * 1024 * 1024);
    const req = request(`${s.url}/v1/blobs/sha256/${sha256(bytes)}`, { method: 'PUT', headers: { ...bearer(s.tokens.publish), 'content-length': String(bytes.length) } });
    req.on('error', () => undefined);
    req.write(bytes.subarray(0, 256 * 1024));
    await sleep(200);
    req.destroy();
    await until(() => s.logs.some((l) => l.type === 'access' && l.route === 'blob'));
    expect(s.logs.filter((l) => l.type === 'error')).toEqual([]);
    const access = s.logs.find((l) => l.type === 'access' && l.route === 'blob')!;
    expect(access.status).toBe(499);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/^webinfer_registry_http_requests_total\{route="blob",method="PUT",status="499"\} 1$/m);
    expect(metrics).not.toMatch(/status="500"/);
  });

  it('an aborted download is logged as 499 with the bytes sent, not as a full 200', async () => {
    const s = await service();
    const bytes = randomBytes(4 * 1024 * 1024);
    const hash = sha256(bytes);
    expect((await fetch(`${s.url}/v1/blobs/sha256/${hash}`, { method: 'PUT', body: bytes, headers: bearer(s.tokens.publish) })).status).toBe(201);
    s.logs.length = 0;
    await new Promise<void>((resolve) => {
      const req = request(`${s.url}/v1/blobs/sha256/${hash}`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end();
    });
    await until(() => s.logs.some((l) => l.type === 'access' && l.route === 'blob'));
    const access = s.logs.find((l) => l.type === 'access' && l.route === 'blob')!;
    expect(access).toMatchObject({ status: 499, aborted: true });
    expect(access.bytes as number).toBeLessThan(bytes.length);
    // A complete download still counts as 200 with every byte.
    s.logs.length = 0;
    expect(Buffer.from(await (await fetch(`${s.url}/v1/blobs/sha256/${hash}`)).arrayBuffer()).equals(bytes)).toBe(true);
    await until(() => s.logs.some((l) => l.type === 'access' && l.route === 'blob'));
    expect(s.logs.find((l) => l.type === 'access' && l.route === 'blob')).toMatchObject({ status: 200, bytes: bytes.length });
  });
});

describe('private', () => {
  it('?private=true on an existing public model is an explicit 409, and nothing changes', async () => {
    const s = await service();
    const m = JSON.parse(await readFile(path.join(s.root, paths.manifest('tiny-cnn', '1.0.0')), 'utf8')) as Record<string, unknown>;
    const before = await snapshot(s.root);
    const r = await fetch(`${s.url}/v1/models/tiny-cnn/versions/1.2.0.json?private=true`, {
      method: 'PUT',
      body: JSON.stringify({ ...m, version: '1.2.0' }),
      headers: { 'content-type': 'application/json', ...bearer(s.tokens.publish) },
    });
    expect(r.status).toBe(409);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('CONFLICT');
    expect(body.error.message).toMatch(/public model/);
    expect(await snapshot(s.root)).toEqual(before);
  });
});

describe('per-client limits', () => {
  it('request rate: past the limit, 429 RATE_LIMITED with Retry-After; the next window is served again', async () => {
    const s = await service({ rateLimit: { requests: 5, windowMs: 500 } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${s.url}/v1/models.json`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const r = await fetch(`${s.url}/v1/models.json`);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    await sleep(600);
    expect((await fetch(`${s.url}/v1/models.json`)).status).toBe(200);
  });

  it('failed authentication is throttled per client: after N failures, 429 AUTH_THROTTLED, even for a good token', async () => {
    const s = await service({ authFailuresPerMinute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${s.url}/v1/models.json`, { headers: bearer(`wi_guess${i}`) })).status);
    expect(statuses).toEqual([401, 401, 401]);
    const r = await fetch(`${s.url}/v1/models.json`, { headers: bearer(s.tokens.read) });
    expect(r.status).toBe(429);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('AUTH_THROTTLED');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    // Anonymous public reads go on.
    expect((await fetch(`${s.url}/v1/models.json`)).status).toBe(200);
  });

  it('connections: a client past maxConnectionsPerClient is disconnected at once; closing one makes room', async () => {
    const s = await service({ maxConnectionsPerClient: 2 });
    const u = new URL(s.url);
    const open = async (): Promise<Socket> => {
      const c = connect(Number(u.port), u.hostname);
      await new Promise((r) => c.once('connect', r));
      return c;
    };
    const a = await open();
    const b = await open();
    await sleep(50);
    const c = await open();
    const closed = await Promise.race([new Promise((r) => c.once('close', () => r(true))), sleep(1000).then(() => false)]);
    expect(closed).toBe(true);
    expect(a.destroyed || b.destroyed).toBe(false);
    a.destroy();
    await sleep(100);
    const d = await open();
    d.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    let answer = '';
    d.on('data', (x: Buffer) => (answer += x.toString()));
    await new Promise((r) => d.once('close', r));
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    b.destroy();
  });
});
