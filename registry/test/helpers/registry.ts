/** Shared helpers of the registry service tests: fresh roots, a running service, snapshots, raw HTTP. */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publish } from '../../src/publish.js';
import { startRegistryServer, type RunningRegistry, type StartOptions } from '../../src/server/serve.js';
import type { LockOptions } from '../../src/store.js';
import { TokenStore } from '../../src/tokens.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const TINY = path.join(repo, 'models', 'tiny-cnn');
export const tinyCard = (): Promise<Record<string, unknown>> => readFile(path.join(TINY, 'card.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>);

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** tiny-cnn 1.0.0 (stable) and 1.1.0 (latest) published into `root`. */
export async function seed(root: string): Promise<void> {
  const card = await tinyCard();
  await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card, now: new Date('2025-01-01T00:00:00Z') });
  await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.1.0', card, now: new Date('2025-02-01T00:00:00Z') });
}

export interface Service extends RunningRegistry {
  root: string;
  logs: Array<Record<string, unknown>>;
  tokens: { read: string; publish: string; admin: string };
}

export async function startService(root: string, opts: Omit<Partial<StartOptions>, 'root'> & { lock?: LockOptions } = {}): Promise<Service> {
  const ts = new TokenStore(root);
  const tokens = {
    read: (await ts.create('reader', ['read'])).token,
    publish: (await ts.create('ci', ['publish'])).token,
    admin: (await ts.create('ops', ['admin'])).token,
  };
  const logs: Array<Record<string, unknown>> = [];
  const s = await startRegistryServer({ root, port: 0, log: (e) => logs.push(e), defaultMetrics: false, ...opts });
  return Object.assign(s, { root, logs, tokens });
}

/** Every file under `dir` (relative path → sha256), for "nothing on disk changed" checks. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
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
    const rel = path.relative(dir, abs);
    if (rel.startsWith('.webinfer')) continue; // token store (its cache timestamps are irrelevant)
    out[rel] = createHash('sha256').update(await readFile(abs)).digest('hex');
  }
  return out;
}

export const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
export const bearer = (t: string): Record<string, string> => ({ Authorization: `Bearer ${t}` });

/** A raw HTTP request with a path sent byte for byte (fetch would normalise `..`). */
export function rawGet(url: string, rawPath: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
