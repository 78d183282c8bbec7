/**
 * Signed manifests, registry side: `keys create|list|revoke`, every version published into a root signed by its
 * live keys (`versions/{v}.sig.json`, over the manifest's exact bytes), the index listing the keys, the service
 * and `export` serving the signatures.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths } from 'webinfer/protocol';
import { check, ManifestSignatures, ModelIndex } from 'webinfer/protocol';
import { KeyStore, verifySignature } from '../src/keys.js';
import { exportStatic, resignRegistry } from '../src/ops.js';
import { publish } from '../src/publish.js';
import { RegistryStore } from '../src/store.js';
import { startService, tempDir, TINY, tinyCard } from './helpers/registry.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('webinfer-keys-'));
});
afterAll(async () => {
  await cleanup?.();
});

describe('signing keys', () => {
  it('create, list, revoke; published versions are signed by live keys only; the index lists the keys', async () => {
    const root = path.join(dir, 'root');
    const keys = new KeyStore(root);
    const a = await keys.create('release');
    expect(a.key).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
    expect((await stat(path.join(root, '.webinfer/keys/release.pem'))).mode & 0o777).toBe(0o600);
    await expect(keys.create('release')).rejects.toMatchObject({ code: 'EXISTS' });
    const card = await tinyCard();
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card });
    const manifestBytes = await readFile(path.join(root, paths.manifest('tiny-cnn', '1.0.0')));
    const sigs = check(ManifestSignatures, JSON.parse(await readFile(path.join(root, paths.signatures('tiny-cnn', '1.0.0')), 'utf8')));
    expect(sigs.ok).toBe(true);
    if (!sigs.ok) return;
    expect(sigs.value.manifest).toBe(`sha256-${createHash('sha256').update(manifestBytes).digest('base64')}`);
    expect(sigs.value.signatures.map((s) => s.key)).toEqual([a.key]);
    expect(verifySignature(a.key, manifestBytes, sigs.value.signatures[0]!.sig)).toBe(true);
    const tampered = Buffer.from(manifestBytes);
    tampered[10] = tampered[10]! ^ 1;
    expect(verifySignature(a.key, tampered, sigs.value.signatures[0]!.sig)).toBe(false);

    const b = await keys.create('next');
    await keys.revoke('release');
    await expect(stat(path.join(root, '.webinfer/keys/release.pem'))).rejects.toMatchObject({ code: 'ENOENT' });
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.1.0', card });
    const later = JSON.parse(await readFile(path.join(root, paths.signatures('tiny-cnn', '1.1.0')), 'utf8')) as { signatures: Array<{ key: string }> };
    expect(later.signatures.map((s) => s.key)).toEqual([b.key]);
    const index = check(ModelIndex, JSON.parse(await readFile(path.join(root, paths.index('tiny-cnn')), 'utf8')));
    expect(index.ok && index.value.keys?.map((k) => [k.key, k.revokedAt !== undefined])).toEqual([
      [a.key, true],
      [b.key, false],
    ]);
    expect((await keys.list()).map((k) => k.name)).toEqual(['release', 'next']);
  });

  it('resign: old versions are signed by the live keys, revoked signatures stay listed, every index lists the revocation', async () => {
    const root = path.join(dir, 'resign');
    const keys = new KeyStore(root);
    const a = await keys.create('old');
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: await tinyCard() });
    const b = await keys.create('new');
    await keys.revoke('old');
    const r = await resignRegistry(new RegistryStore(root), keys);
    expect(r).toEqual({ models: 1, versions: 1 });
    const bytes = await readFile(path.join(root, paths.manifest('tiny-cnn', '1.0.0')));
    const doc = JSON.parse(await readFile(path.join(root, paths.signatures('tiny-cnn', '1.0.0')), 'utf8')) as { signatures: Array<{ key: string; sig: string }> };
    expect(doc.signatures.map((s) => s.key)).toEqual([a.key, b.key]);
    expect(doc.signatures.every((s) => verifySignature(s.key, bytes, s.sig))).toBe(true);
    const index = check(ModelIndex, JSON.parse(await readFile(path.join(root, paths.index('tiny-cnn')), 'utf8')));
    expect(index.ok && index.value.keys?.map((k) => [k.key, k.revokedAt !== undefined])).toEqual([
      [a.key, true],
      [b.key, false],
    ]);
    // The manifest itself is untouched (its hash, which clients remember, does not change).
    expect(await readFile(path.join(root, paths.manifest('tiny-cnn', '1.0.0')))).toEqual(bytes);
  });

  it('a root without keys publishes unsigned versions (no .sig.json)', async () => {
    const root = path.join(dir, 'plain');
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: await tinyCard() });
    await expect(stat(path.join(root, paths.signatures('tiny-cnn', '1.0.0')))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('the service signs versions published through it, serves the signatures, and export copies them', async () => {
    const root = path.join(dir, 'svc');
    const key = await new KeyStore(root).create('svc');
    await publish({ modelDir: TINY, root, id: 'tiny-cnn', version: '1.0.0', card: await tinyCard() });
    const s = await startService(root);
    try {
      const m = JSON.parse(await readFile(path.join(root, paths.manifest('tiny-cnn', '1.0.0')), 'utf8')) as Record<string, unknown>;
      const put = await fetch(`${s.url}/v1/models/tiny-cnn/versions/2.0.0.json`, {
        method: 'PUT',
        body: JSON.stringify({ ...m, version: '2.0.0' }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.tokens.publish}` },
      });
      expect(put.status).toBe(201);
      const served = await fetch(`${s.url}/v1/models/tiny-cnn/versions/2.0.0.sig.json`);
      expect(served.status).toBe(200);
      const doc = (await served.json()) as { signatures: Array<{ key: string; sig: string }> };
      const bytes = Buffer.from(await (await fetch(`${s.url}/v1/models/tiny-cnn/versions/2.0.0.json`)).arrayBuffer());
      expect(verifySignature(key.key, bytes, doc.signatures[0]!.sig)).toBe(true);
    } finally {
      await s.close();
    }
    const www = path.join(dir, 'www');
    await exportStatic(new RegistryStore(root), www);
    expect(await readFile(path.join(www, paths.signatures('tiny-cnn', '2.0.0')), 'utf8')).toBe(await readFile(path.join(root, paths.signatures('tiny-cnn', '2.0.0')), 'utf8'));
  });
});
