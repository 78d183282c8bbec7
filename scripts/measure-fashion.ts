/**
 * `npm run measure:fashion`: measures every variant of models/fashion-mnist-cnn *in the
 * browser* (headless Chromium, webinfer on WASM, the built package in dist/): accuracy on
 * all 10,000 Fashion-MNIST test images, download size, cold load time and per-call latency
 * (median and p95, a full classify() round trip to the worker). Writes the accuracies and
 * sizes into the model card (`metrics`) and prints a table.
 *
 * Needs `npm run build` and Debian's dataset-fashion-mnist (the test set is read from
 * /usr/share/datasets/fashion-mnist, or FASHION_MNIST_DIR). Not part of `npm test`.
 */
import { chromium } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { publish } from '../registry/src/publish.js';
import { REPO, startServer } from '../test/e2e/server.js';

const data = process.env['FASHION_MNIST_DIR'] ?? '/usr/share/datasets/fashion-mnist';
const modelDir = path.join(REPO, 'models/fashion-mnist-cnn');
const cardPath = path.join(modelDir, 'card.json');

function idx(name: string): Buffer {
  const buf = gunzipSync(readFileSync(path.join(data, name)));
  const ndim = buf[3]!;
  return buf.subarray(4 + 4 * ndim);
}

async function main(): Promise<void> {
  const images = idx('t10k-images-idx3-ubyte.gz');
  const labels = Array.from(idx('t10k-labels-idx1-ubyte.gz'));
  const card = JSON.parse(readFileSync(cardPath, 'utf8')) as { metrics?: Record<string, number | string> };
  const root = mkdtempSync(path.join(tmpdir(), 'webinfer-measure-'));
  await publish({ modelDir, root, id: 'fashion-mnist-cnn', version: '1.0.0', card: { ...card, metrics: {} }, quantize: ['float16', 'uint8'] });
  const registry = await startServer({ mounts: {}, registryRoot: root });
  const page = await startServer({
    coi: true,
    mounts: { '/dist/': path.join(REPO, 'dist'), '/node_modules/comlink/': path.join(REPO, 'node_modules/comlink'), '/pages/': path.join(REPO, 'test/e2e/pages') },
  });
  const browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const results: Record<string, { accuracy: number; bytes: number; loadMs: number; median: number; p95: number; backend: string }> = {};
  try {
    const tab = await browser.newPage();
    await tab.goto(`${page.url}/pages/dist.html`);
    await tab.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
    for (const dtype of ['float32', 'float16', 'uint8'] as const) {
      const r = await tab.evaluate(
        async ({ registry, dtype, b64, labels }) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const client = window.webinfer.createClient({ registry, backend: 'wasm', cacheName: `measure-${dtype}` });
          await client.ready();
          const t0 = performance.now();
          const model = await client.load('fashion-mnist-cnn@1.0.0', { task: 'image-classification', dtype });
          const loadMs = performance.now() - t0;
          let correct = 0;
          const times: number[] = [];
          for (let i = 0; i < labels.length; i++) {
            const s = performance.now();
            const top = await model.classify({ data: bytes.slice(i * 784, (i + 1) * 784), width: 28, height: 28, channels: 1 }, { topK: 1, transfer: true });
            times.push(performance.now() - s);
            if (top[0]!.index === labels[i]) correct++;
          }
          times.sort((a, b) => a - b);
          const out = { accuracy: correct / labels.length, bytes: model.info.bytes, loadMs, median: times[times.length >> 1]!, p95: times[Math.floor(times.length * 0.95)]!, backend: (await client.ready()).name };
          await client.dispose();
          return out;
        },
        { registry: `${registry.url}/registry`, dtype, b64: images.toString('base64'), labels },
      );
      results[dtype] = r;
      process.stdout.write(`${dtype}: accuracy ${(r.accuracy * 100).toFixed(2)} % on ${labels.length} test images, ${r.bytes} bytes, load ${r.loadMs.toFixed(0)} ms, classify median ${r.median.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms (${r.backend})\n`);
    }
  } finally {
    await browser.close();
    await Promise.all([registry.close(), page.close()]);
    rmSync(root, { recursive: true, force: true });
  }
  const training = JSON.parse(readFileSync(path.join(modelDir, 'training.json'), 'utf8')) as { testAccuracy: number };
  const metrics: Record<string, number | string> = { 'accuracy.pytorch': training.testAccuracy, testImages: labels.length };
  for (const [dtype, r] of Object.entries(results)) {
    metrics[`accuracy.browser.${dtype}`] = Number(r.accuracy.toFixed(5));
    metrics[`bytes.${dtype}`] = r.bytes;
  }
  metrics['measuredWith'] = 'npm run measure:fashion (headless Chromium, webinfer on WASM, all 10,000 test images)';
  writeFileSync(cardPath, `${JSON.stringify({ ...card, metrics }, null, 2)}\n`);
  process.stdout.write(`card metrics written to ${path.relative(REPO, cardPath)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`measure-fashion: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
