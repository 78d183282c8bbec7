/**
 * `npm run measure:imagegen`: measures the image generators of models/fashion-vae and models/fashion-dcgan
 * *in the browser* (headless Chromium, webinfer on WASM, the built package in dist/) and writes the figures
 * into each model card (`metrics`), beside PyTorch's figures for the same (from each training.json):
 *
 * - 10,000 samples (`generate({ count: 64, seed })`, seeds 0, 1, …), each classified by the project's Fashion
 *   CNN (models/fashion-mnist-cnn, through webinfer): the mean top-1 probability, and the entropy (nats, at most
 *   ln 10 = 2.303) of the histogram of predicted classes — an Inception-Score-style pair: both high means sharp
 *   and varied pictures;
 * - VAE: the mean per-pixel squared error (pixels in [0, 1]) of reconstructing the 10,000 Fashion-MNIST test
 *   images (encode → decode; the browser's pictures are 8-bit);
 * - the median time of one `generate({ count: 64 })` round trip.
 *
 * Needs `npm run build` and Debian's dataset-fashion-mnist. Not part of `npm test`.
 */
import { chromium } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { publish } from '../registry/src/publish.js';
import { REPO, startServer } from '../test/e2e/server.js';

const data = process.env['FASHION_MNIST_DIR'] ?? '/usr/share/datasets/fashion-mnist';
const SAMPLES = 10_000;
const MODELS = [
  { id: 'fashion-vae', entry: 'decoder.json' },
  { id: 'fashion-dcgan', entry: 'generator.json' },
] as const;

function idx(name: string): Buffer {
  const buf = gunzipSync(readFileSync(path.join(data, name)));
  return buf.subarray(4 + 4 * buf[3]!);
}

async function main(): Promise<void> {
  const test = idx('t10k-images-idx3-ubyte.gz');
  const root = mkdtempSync(path.join(tmpdir(), 'webinfer-measure-imagegen-'));
  const cnnDir = path.join(REPO, 'models/fashion-mnist-cnn');
  await publish({ modelDir: cnnDir, root, id: 'fashion-mnist-cnn', version: '1.0.0', card: JSON.parse(readFileSync(path.join(cnnDir, 'card.json'), 'utf8')) as Record<string, unknown> });
  const cards: Record<string, Record<string, unknown>> = {};
  for (const m of MODELS) {
    const dir = path.join(REPO, 'models', m.id);
    cards[m.id] = JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8')) as Record<string, unknown>;
    await publish({ modelDir: dir, root, id: m.id, version: '1.0.0', entry: m.entry, card: { ...cards[m.id], metrics: {} } });
  }
  const registry = await startServer({ mounts: {}, registryRoot: root });
  const page = await startServer({
    coi: true,
    mounts: { '/dist/': path.join(REPO, 'dist'), '/node_modules/comlink/': path.join(REPO, 'node_modules/comlink'), '/pages/': path.join(REPO, 'test/e2e/pages') },
  });
  const browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage();
    await tab.goto(`${page.url}/pages/dist.html`);
    await tab.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
    for (const m of MODELS) {
      const r = await tab.evaluate(
        async ({ registry, id, samples, b64 }) => {
          const client = window.webinfer.createClient({ registry, backend: 'wasm', cacheName: `measure-${id}` });
          const backend = (await client.ready()).name;
          const cnn = await client.load('fashion-mnist-cnn@1.0.0', { task: 'image-classification' });
          const gen = await client.load(`${id}@1.0.0`, { task: 'image-generation' });
          const counts = new Array<number>(10).fill(0);
          let top1 = 0;
          let made = 0;
          const times: number[] = [];
          for (let seed = 0; made < samples; seed++) {
            const count = Math.min(64, samples - made);
            const t0 = performance.now();
            const { images } = await gen.generate({ count, seed });
            if (count === 64) times.push(performance.now() - t0);
            const tops = await Promise.all(images.map((im) => cnn.classify(window.webinfer.toImageData(im), { topK: 1 })));
            for (const t of tops) {
              top1 += t[0]!.score;
              counts[t[0]!.index]!++;
            }
            made += count;
          }
          let entropy = 0;
          for (const c of counts) if (c > 0) entropy -= (c / made) * Math.log(c / made);
          let mse: number | undefined;
          if (gen.generator.canEncode) {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const n = bytes.length / 784;
            let sum = 0;
            for (let start = 0; start < n; start += 64) {
              const idx = Array.from({ length: Math.min(64, n - start) }, (_, k) => start + k);
              const zs = await Promise.all(idx.map((i) => gen.encode({ data: bytes.slice(i * 784, (i + 1) * 784), width: 28, height: 28, channels: 1 })));
              const recs = await gen.decode(zs);
              recs.forEach((rec, k) => {
                const i = idx[k]!;
                for (let p = 0; p < 784; p++) sum += ((rec.data[p * 4]! - bytes[i * 784 + p]!) / 255) ** 2;
              });
            }
            mse = sum / (n * 784);
          }
          times.sort((a, b) => a - b);
          const out = { backend, meanTop1: top1 / made, classEntropy: entropy, classCounts: counts, mse, bytes: gen.info.bytes, generate64Ms: times[times.length >> 1]! };
          await client.dispose();
          return out;
        },
        { registry: `${registry.url}/registry`, id: m.id, samples: SAMPLES, b64: test.toString('base64') },
      );
      const training = JSON.parse(readFileSync(path.join(REPO, 'models', m.id, 'training.json'), 'utf8')) as { pytorch: { meanTop1: number; classEntropy: number; reconstructionMse?: number } };
      const metrics: Record<string, number | string> = {
        samples: SAMPLES,
        'samples.browser.meanTop1': Number(r.meanTop1.toFixed(4)),
        'samples.browser.classEntropy': Number(r.classEntropy.toFixed(4)),
        'samples.pytorch.meanTop1': training.pytorch.meanTop1,
        'samples.pytorch.classEntropy': training.pytorch.classEntropy,
        'samples.browser.classCounts': r.classCounts.join(' '),
      };
      if (r.mse !== undefined) {
        metrics['testImages'] = test.length / 784;
        metrics['reconstructionMse.browser'] = Number(r.mse.toFixed(5));
        if (training.pytorch.reconstructionMse !== undefined) metrics['reconstructionMse.pytorch'] = training.pytorch.reconstructionMse;
      }
      metrics['bytes.float32'] = r.bytes;
      metrics['generate64.medianMs'] = Number(r.generate64Ms.toFixed(1));
      metrics['measuredWith'] = `npm run measure:imagegen (headless Chromium, webinfer on ${r.backend}; samples classified by fashion-mnist-cnn through webinfer; entropy in nats of the predicted-class histogram, max ln 10 = 2.3026)`;
      const cardPath = path.join(REPO, 'models', m.id, 'card.json');
      writeFileSync(cardPath, `${JSON.stringify({ ...cards[m.id], metrics }, null, 2)}\n`);
      process.stdout.write(`${m.id}: ${JSON.stringify(metrics)}\n`);
    }
  } finally {
    await browser.close();
    await Promise.all([registry.close(), page.close()]);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`measure-imagegen: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
