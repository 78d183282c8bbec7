/**
 * Runs the `Registry` conformance suite (registry.case.ts) against every implementation:
 * - LocalRegistry on a temp directory;
 * - RemoteRegistry against the in-process service (admin token: every scope);
 * - RemoteRegistry against nginx (deploy/nginx.conf) serving the static tree exported from a local
 *   registry — its read part only.
 * Then what only some implementations have: tokens and scopes (service), READ_ONLY (static), UNREACHABLE.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginx, type RunningNginx } from '../../test/support/nginx.js';
import { LocalRegistry } from '../src/local.js';
import { exportStatic } from '../src/ops.js';
import { prepareVersion } from '../src/publish.js';
import { openRegistry, type Registry } from '../src/registry.js';
import { RemoteError, RemoteRegistry } from '../src/remote.js';
import { RegistryStore, RegistryStoreError } from '../src/store.js';
import { seed, sha256, startService, tempDir, TINY, tinyCard, type Service } from './helpers/registry.js';
import { runRegistryCases, type RegistryFixture } from './registry.case.js';

/** Writers give up on a held lock quickly, for the LOCKED case. */
const LOCK = { timeoutMs: 300 };

let tmp: string;
let cleanup: () => Promise<void>;
let n = 0;
const fresh = (name: string): string => path.join(tmp, `${++n}-${name}`);

beforeAll(async () => {
  ({ dir: tmp, cleanup } = await tempDir('webinfer-conformance-'));
});
afterAll(async () => {
  await cleanup?.();
});

/** nginx with the shipped config serving `dir`, read through RemoteRegistry without a token. */
async function serveStatic(dir: string): Promise<RegistryFixture & { nginx: RunningNginx }> {
  const nginx = await startNginx(dir);
  return { registry: new RemoteRegistry(nginx.url), dir, nginx, close: () => nginx.close() };
}

async function openLocal(): Promise<RegistryFixture> {
  const root = fresh('local');
  await seed(root);
  return { registry: new LocalRegistry(root, { lock: LOCK }), dir: root, close: async () => undefined };
}

async function openService(): Promise<RegistryFixture & { service: Service }> {
  const root = fresh('service');
  await seed(root);
  const service = await startService(root, { lock: LOCK });
  return { registry: new RemoteRegistry(service.url, service.tokens.admin), dir: root, service, close: () => service.close() };
}

/**
 * One static tree for every static case: they only read, so none can change what another sees
 * (starting nginx per case would cost a process each). The one planted file (HASH_MISMATCH) has
 * a name of its own.
 */
let shared: (RegistryFixture & { nginx: RunningNginx }) | undefined;
async function openStatic(): Promise<RegistryFixture> {
  if (!shared) {
    const root = fresh('static-source');
    await seed(root);
    const www = fresh('static-www');
    await exportStatic(new RegistryStore(root), www);
    shared = await serveStatic(www);
  }
  return { ...shared, close: async () => undefined };
}
afterAll(async () => {
  await shared?.close();
});

runRegistryCases({ name: 'LocalRegistry (directory)', open: openLocal, serveStatic });
runRegistryCases({ name: 'RemoteRegistry (service)', open: openService, serveStatic });
runRegistryCases({
  name: 'RemoteRegistry (static tree on nginx)',
  open: openStatic,
  serveStatic,
  skip: [{ reason: 'a static host takes no writes: nginx serves files, it has no write endpoints (see the READ_ONLY test below)', tests: ['writes'] }],
});

describe('openRegistry', () => {
  it('opens a LocalRegistry for { root } and a RemoteRegistry for { registry, token }', async () => {
    const local = openRegistry({ root: fresh('open') });
    expect(local).toBeInstanceOf(LocalRegistry);
    expect(local.name).toBe('local');
    expect(await local.catalog()).toEqual({ schema: 'webinfer.catalog/v1', models: [] });
    const remote = openRegistry({ registry: 'http://127.0.0.1:9', token: 'wi_x' });
    expect(remote).toBeInstanceOf(RemoteRegistry);
    expect(remote.name).toBe('remote');
    expect(remote.location).toBe('http://127.0.0.1:9');
  });
});

describe('what only some implementations have', () => {
  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(RegistryStoreError);
      return e instanceof RegistryStoreError ? e.code : 'not a RegistryStoreError';
    }
    return 'resolved';
  };

  it('static host: every write is READ_ONLY, and it keeps serving', async () => {
    const { registry } = await openStatic();
    const model = fresh('model');
    await writeFile(`${model}.bin`, randomBytes(100));
    const prepared = await prepareVersion({ modelDir: TINY, id: 'tiny-cnn', version: '1.2.0', card: await tinyCard() });
    expect(await codeOf(registry.publish(prepared))).toBe('READ_ONLY'); // blobs are there: the manifest PUT is refused
    expect(await codeOf(registry.putBlobFile(`${model}.bin`))).toBe('READ_ONLY');
    expect(await codeOf(registry.promote('tiny-cnn', 'stable', '1.1.0'))).toBe('READ_ONLY');
    expect(await codeOf(registry.rollback('tiny-cnn', 'stable'))).toBe('READ_ONLY');
    expect(await codeOf(registry.yank('tiny-cnn', '1.1.0'))).toBe('READ_ONLY');
    expect(await codeOf(registry.gc({ minAgeMs: 0 }))).toBe('READ_ONLY');
    expect((await registry.resolve('tiny-cnn')).version).toBe('1.0.0');
  });

  it('service: writes need a token (UNAUTHORIZED) with the right scope (FORBIDDEN); the error keeps the HTTP status and service code', async () => {
    const f = await openService();
    try {
      const anonymous: Registry = new RemoteRegistry(f.service.url);
      const reader: Registry = new RemoteRegistry(f.service.url, f.service.tokens.read);
      const publisher: Registry = new RemoteRegistry(f.service.url, f.service.tokens.publish);
      expect((await anonymous.resolve('tiny-cnn')).version).toBe('1.0.0'); // public reads need no token
      let e: unknown;
      try {
        await anonymous.promote('tiny-cnn', 'stable', '1.1.0');
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(RemoteError);
      expect(e).toMatchObject({ code: 'UNAUTHORIZED', status: 401, serviceCode: 'UNAUTHORIZED' });
      expect(await codeOf(new RemoteRegistry(f.service.url, 'wi_not-a-token').catalog())).toBe('UNAUTHORIZED');
      expect(await codeOf(reader.promote('tiny-cnn', 'stable', '1.1.0'))).toBe('FORBIDDEN');
      expect(await codeOf(publisher.yank('tiny-cnn', '1.1.0'))).toBe('FORBIDDEN'); // yank needs admin
      expect(await codeOf(publisher.gc())).toBe('FORBIDDEN');
      expect((await publisher.promote('tiny-cnn', 'stable', '1.1.0')).change).toBe('stable: 1.0.0 -> 1.1.0');
    } finally {
      await f.close();
    }
  });

  it('service: a private model needs a read token; anonymously it is NOT found', async () => {
    const f = await openService();
    try {
      const prepared = await prepareVersion({ modelDir: TINY, id: 'secret-cnn', version: '1.0.0', card: await tinyCard() });
      await f.registry.publish(prepared, { private: true });
      const anonymous = new RemoteRegistry(f.service.url);
      expect((await anonymous.catalog()).models.map((m) => m.id)).toEqual(['tiny-cnn']);
      expect(await codeOf(anonymous.index('secret-cnn'))).toBe('UNAUTHORIZED');
      expect((await new RemoteRegistry(f.service.url, f.service.tokens.read).resolve('secret-cnn')).version).toBe('1.0.0');
    } finally {
      await f.close();
    }
  });

  it('a registry nobody answers for is UNREACHABLE', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
      });
    });
    const gone = new RemoteRegistry(`http://127.0.0.1:${port}`);
    expect(await codeOf(gone.catalog())).toBe('UNREACHABLE');
    expect(await codeOf(gone.hasBlob(sha256('x')))).toBe('UNREACHABLE');
  });
});
