/**
 * The browser client, unchanged, against the three hosting forms of one registry tree:
 * the test's static server, the registry service (`webinfer-registry serve`) and nginx with
 * the shipped deploy/nginx.conf. A representative subset of the loading suite runs on each:
 * load + classify (numbers equal plain tfjs), no blob requests after a reload, integrity
 * failure, registry down with a warm cache; and private models with a token (service only).
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { exportStatic } from '../../registry/src/ops.js';
import { publish } from '../../registry/src/publish.js';
import { RegistryStore } from '../../registry/src/store.js';
import { startRegistryServer, type RunningRegistry } from '../../registry/src/server/serve.js';
import { TokenStore } from '../../registry/src/tokens.js';
import { KeyStore } from '../../registry/src/keys.js';
import { startNginx, type RunningNginx } from '../support/nginx.js';
import { expect, REGISTRY_ROOT, test as base } from './fixtures.js';
import { pattern, tinyCnnReference } from './reference.js';
import { REPO, startServer, type TestServer } from './server.js';

type FormName = 'static' | 'service' | 'nginx';
interface Form {
  /** The registry base URL as the page sees it. */
  url(): string;
  /** Blob GET requests the form has answered so far. */
  blobRequests(): Promise<number>;
  /** Takes the registry off the network, and back (same URL). */
  down(): Promise<void>;
  up(): Promise<void>;
}
interface Hosting {
  root: string;
  readToken: string;
  forms: Record<FormName, Form>;
  corruptHash: string;
}

const test = base.extend<{ hosting: Hosting }, { hostingWorker: Hosting & { close(): Promise<void> } }>({
  hostingWorker: [
    async ({}, use, workerInfo) => {
      // A private copy of the fixture registry, plus a private model and a model with a corrupted blob.
      const root = path.join(REPO, `.tmp/e2e-hosting-${workerInfo.workerIndex}`);
      rmSync(root, { recursive: true, force: true });
      cpSync(REGISTRY_ROOT, root, { recursive: true });
      const tiny = path.join(REPO, 'models/tiny-cnn');
      const card = JSON.parse(readFileSync(path.join(tiny, 'card.json'), 'utf8')) as Record<string, unknown>;
      await publish({ modelDir: tiny, root, id: 'private-cnn', version: '1.0.0', aliases: ['stable'], card, private: true });
      const bad = path.join(root, '.corrupt-model');
      cpSync(tiny, bad, { recursive: true });
      const weights = readFileSync(path.join(bad, 'group1-shard1of1.bin'));
      weights[0] = (weights[0]! + 1) % 256; // other bytes than tiny-cnn's: a blob of its own
      writeFileSync(path.join(bad, 'group1-shard1of1.bin'), weights);
      const r = await publish({ modelDir: bad, root, id: 'corrupt-cnn', version: '1.0.0', aliases: ['stable'], card });
      rmSync(bad, { recursive: true, force: true });
      const { token: readToken } = await new TokenStore(root).create('browser', ['read']);
      // The static forms serve what `export` writes (public models only); the service serves the root.
      const www = `${root}-www`;
      rmSync(www, { recursive: true, force: true });
      await exportStatic(new RegistryStore(root), www);
      const corruptHash = r.manifest.variants.float32.files.find((f) => f.path.endsWith('.bin'))!.sha256;
      for (const tree of [root, www]) {
        const blob = path.join(tree, 'v1/blobs/sha256', corruptHash);
        const stored = readFileSync(blob);
        stored[100] = stored[100]! ^ 0xff; // bit rot on the server: every form serves these bytes
        writeFileSync(blob, stored);
      }

      const staticServer: TestServer = await startServer({ mounts: {}, registryRoot: www });
      const serviceLog: Array<Record<string, unknown>> = [];
      let service: RunningRegistry | undefined = await startRegistryServer({ root, port: 0, log: (e) => serviceLog.push(e), defaultMetrics: false });
      const servicePort = Number(new URL(service.url).port);
      let nginx: RunningNginx | undefined = await startNginx(www);
      const nginxPort = nginx.port;
      let nginxBlobHitsBefore = 0;
      const nginxBlobs = async (): Promise<number> => (nginx ? (await nginx.accessLog()).filter((l) => l.includes('GET /v1/blobs/')).length : 0);

      const forms: Record<FormName, Form> = {
        static: {
          url: () => `${staticServer.url}/registry`,
          blobRequests: async () => staticServer.blobHits(),
          down: async () => void (staticServer.faults.down = true),
          up: async () => void (staticServer.faults.down = false),
        },
        service: {
          url: () => `http://127.0.0.1:${servicePort}`,
          blobRequests: async () => serviceLog.filter((e) => e['type'] === 'access' && e['route'] === 'blob' && e['method'] === 'GET').length,
          down: async () => {
            await service?.close();
            service = undefined;
          },
          up: async () => {
            service ??= await startRegistryServer({ root, port: servicePort, log: (e) => serviceLog.push(e), defaultMetrics: false });
          },
        },
        nginx: {
          url: () => `http://127.0.0.1:${nginxPort}`,
          blobRequests: async () => nginxBlobHitsBefore + (await nginxBlobs()),
          down: async () => {
            nginxBlobHitsBefore += await nginxBlobs();
            await nginx?.close();
            nginx = undefined;
          },
          up: async () => {
            nginx ??= await startNginx(www, nginxPort);
          },
        },
      };
      await use({ root, readToken, forms, corruptHash, close: async () => undefined });
      await staticServer.close();
      await service?.close();
      await nginx?.close();
      rmSync(root, { recursive: true, force: true });
      rmSync(www, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],
  hosting: async ({ hostingWorker }, use) => {
    await use(hostingWorker);
    for (const f of Object.values(hostingWorker.forms)) await f.up();
  },
});

for (const name of ['static', 'service', 'nginx'] as const) {
  test.describe(`hosted by ${name}`, () => {
    test('load + classify: the numbers equal plain tfjs', async ({ open, hosting }) => {
      const page = await open();
      const reference = await tinyCnnReference(pattern(28, 28, 1), 1);
      const r = await page.evaluate(async (registry) => {
        const client = window.webinfer.createClient({ registry, backend: 'wasm' });
        const model = await client.load('tiny-cnn@stable', { task: 'image-classification' });
        const top = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 3 });
        const info = { version: model.info.version, labels: model.info.labels };
        await client.dispose();
        return { top, info };
      }, hosting.forms[name].url());
      expect(r.info.version).toBe('1.0.0');
      const order = reference.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i);
      expect(r.top.map((p) => p.index)).toEqual(order.slice(0, 3).map((o) => o.i));
      for (const p of r.top) {
        expect(Math.abs(p.score - reference[p.index]!)).toBeLessThan(1e-5);
        expect(p.label).toBe(r.info.labels[p.index]);
      }
    });

    test('after a page reload, a second load makes no blob requests', async ({ open, hosting }) => {
      const page = await open();
      const form = hosting.forms[name];
      const load = (): Promise<number> =>
        page.evaluate(async (registry) => {
          const client = window.webinfer.createClient({ registry, backend: 'wasm' });
          const m = await client.load('emotion@stable');
          const d = m.info.downloadedBytes;
          await client.dispose();
          return d;
        }, form.url());
      const before = await form.blobRequests();
      expect(await load()).toBeGreaterThan(800_000);
      const afterFirst = await form.blobRequests();
      expect(afterFirst - before).toBe(2);
      await page.reload();
      await page.waitForFunction(() => window.harnessReady === true);
      expect(await load()).toBe(0);
      expect(await form.blobRequests()).toBe(afterFirst);
    });

    test('a blob whose bytes do not match its manifest fails with IntegrityError', async ({ open, hosting }) => {
      const page = await open();
      const r = await page.evaluate(async (registry) => {
        const client = window.webinfer.createClient({ registry, backend: 'wasm', retries: 0 });
        const res = await window.util.attempt(() => client.load('corrupt-cnn@stable'));
        await client.dispose();
        return res;
      }, hosting.forms[name].url());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toMatchObject({ name: 'IntegrityError', code: 'INTEGRITY', instanceOfOwnClass: true });
        expect(r.error.fields).toMatchObject({ expected: `sha256:${hosting.corruptHash}` });
      }
    });

    if (name !== 'static') {
      // The service and nginx serve blobs `immutable`: the browser's HTTP cache keeps what it got.
      test('a corrupt blob kept by the HTTP cache heals once the server has the right bytes (reload, no-store)', async ({ open, hosting }) => {
        const id = `heal-${name}`;
        const tiny = path.join(REPO, 'models/tiny-cnn');
        const dir = path.join(hosting.root, `.${id}`);
        cpSync(tiny, dir, { recursive: true });
        const w = readFileSync(path.join(dir, 'group1-shard1of1.bin'));
        w[1] = (w[1]! + (name === 'service' ? 3 : 5)) % 256; // a blob of its own
        writeFileSync(path.join(dir, 'group1-shard1of1.bin'), w);
        const card = JSON.parse(readFileSync(path.join(tiny, 'card.json'), 'utf8')) as Record<string, unknown>;
        const pub = await publish({ modelDir: dir, root: hosting.root, id, version: '1.0.0', card });
        rmSync(dir, { recursive: true, force: true });
        const hash = pub.manifest.variants.float32.files.find((f) => f.path.endsWith('.bin'))!.sha256;
        const www = `${hosting.root}-www`;
        if (name === 'nginx') {
          cpSync(path.join(hosting.root, 'v1/models', id), path.join(www, 'v1/models', id), { recursive: true });
          cpSync(path.join(hosting.root, 'v1/blobs/sha256', hash), path.join(www, 'v1/blobs/sha256', hash));
        }
        const tree = name === 'nginx' ? www : hosting.root;
        const blob = path.join(tree, 'v1/blobs/sha256', hash);
        const good = readFileSync(blob);
        const bad = Buffer.from(good);
        bad[200] = bad[200]! ^ 0xff;
        writeFileSync(blob, bad);
        const page = await open();
        const load = (): Promise<{ ok: boolean; error?: { name: string } }> =>
          page.evaluate(async ([registry, ref]) => {
            const client = window.webinfer.createClient({ registry, backend: 'wasm', retries: 0 });
            const res = await window.util.attempt(() => client.load(ref));
            await client.dispose();
            return res as { ok: boolean; error?: { name: string } };
          }, [hosting.forms[name].url(), `${id}@1.0.0`] as const);
        expect(await load()).toMatchObject({ ok: false, error: { name: 'IntegrityError' } });
        // The operator repairs the file; the browser's cache still holds the corrupt copy (served `immutable`).
        writeFileSync(blob, good);
        expect(await load()).toMatchObject({ ok: true });
        await page.reload();
        await page.waitForFunction(() => window.harnessReady === true);
        expect(await load()).toMatchObject({ ok: true });
      });
    }

    if (name === 'service') {
      test('signed manifests: a client that pins the registry key loads signed versions and refuses unsigned ones (WebCrypto)', async ({ open, hosting }) => {
        const keys = new KeyStore(hosting.root);
        const { key } = await keys.create('e2e');
        const other = await new KeyStore(path.join(hosting.root, '.other-keys')).create('other');
        const card = JSON.parse(readFileSync(path.join(REPO, 'models/tiny-cnn/card.json'), 'utf8')) as Record<string, unknown>;
        await publish({ modelDir: path.join(REPO, 'models/tiny-cnn'), root: hosting.root, id: 'signed-cnn', version: '1.0.0', card });
        await keys.revoke('e2e'); // later publishes in this root stay unsigned
        const page = await open();
        const r = await page.evaluate(
          async ([registry, key, otherKey]) => {
            const { createClient } = window.webinfer;
            const client = createClient({ registry, backend: 'wasm', trust: { keys: [key] } });
            const signed = await window.util.attempt(async () => {
              const m = await client.load('signed-cnn@1.0.0', { task: 'image-classification' });
              return (await m.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 1 })).length;
            });
            const unsigned = await window.util.attempt(() => client.load('tiny-cnn@1.0.0'));
            await client.dispose();
            const stranger = createClient({ registry, backend: 'wasm', trust: { keys: [otherKey] } });
            const untrusted = await window.util.attempt(() => stranger.load('signed-cnn@1.0.0'));
            await stranger.dispose();
            return { signed, unsigned, untrusted };
          },
          [hosting.forms[name].url(), key, other.key] as const,
        );
        expect(r.signed).toMatchObject({ ok: true, value: 1 });
        expect(r.unsigned).toMatchObject({ ok: false, error: { name: 'ManifestError', instanceOfOwnClass: true, fields: { reason: 'unsigned' } } });
        expect(r.untrusted).toMatchObject({ ok: false, error: { name: 'ManifestError', fields: { reason: 'untrusted-key' } } });
      });
    }

    test('with the registry down, a model loaded before still loads from the cache', async ({ open, hosting }) => {
      const page = await open();
      const form = hosting.forms[name];
      const load = (): Promise<{ ok: boolean; offline?: boolean; version?: string; error?: string }> =>
        page.evaluate(async (registry) => {
          const client = window.webinfer.createClient({ registry, backend: 'wasm', retries: 1 });
          const r = await window.util.attempt(async () => {
            const m = await client.load('tiny-cnn@stable', { task: 'image-classification' });
            await m.classify({ data: new Uint8Array(784), width: 28, height: 28, channels: 1 });
            return { offline: m.info.offline, version: m.info.version };
          });
          await client.dispose();
          return r.ok ? { ok: true, ...r.value } : { ok: false, error: r.error.name };
        }, form.url());
      expect(await load()).toEqual({ ok: true, offline: false, version: '1.0.0' });
      await form.down();
      await page.reload();
      await page.waitForFunction(() => window.harnessReady === true);
      expect(await load()).toEqual({ ok: true, offline: true, version: '1.0.0' });
      await form.up();
    });

    test('a private model: served with a read token by the service, absent from static trees', async ({ open, hosting }) => {
      const page = await open();
      const r = await page.evaluate(
        async ({ registry, token }) => {
          const attempt = async (t?: string) => {
            const client = window.webinfer.createClient({ registry, backend: 'wasm', retries: 0, ...(t ? { token: t } : {}) });
            const res = await window.util.attempt(async () => (await client.load('private-cnn@stable')).info.version);
            await client.dispose();
            return res;
          };
          return { anonymous: await attempt(), withToken: await attempt(token) };
        },
        { registry: hosting.forms[name].url(), token: hosting.readToken },
      );
      expect(r.anonymous.ok).toBe(false);
      if (name === 'service') {
        // The service refuses without a read token, and serves it with one.
        if (!r.anonymous.ok) expect(r.anonymous.error).toMatchObject({ name: 'RegistryUnavailableError', fields: { status: 401 } });
        expect(r.withToken).toEqual({ ok: true, value: '1.0.0' });
      } else {
        // A static host cannot check tokens: `export` leaves private models out of the tree it serves.
        if (!r.anonymous.ok) expect(r.anonymous.error).toMatchObject({ name: 'ModelNotFoundError' });
        expect(r.withToken).toMatchObject({ ok: false, error: { name: 'ModelNotFoundError' } });
      }
    });
  });
}
