/**
 * `npm run measure:text-tasks`: measures the two models of the text-classification and feature-extraction
 * tasks *in the browser* (headless Chromium, webinfer on WASM, the built package in dist/) and writes the
 * figures into their cards:
 *
 * - `langid-lstm`: accuracy on the whole held-out split of single sentences (re-derived by
 *   `models/langid-lstm/train.py --heldout`, the same seeded split as training), and classify() latency
 *   (median, p95; one call at a time, and the throughput of all calls made at once, micro-batched);
 * - `fashion-embed`: recall@10 of same-class neighbours on the 10,000 Fashion-MNIST test images: every image
 *   embedded in the page (L2-normalised), and for each, the fraction of its 10 nearest others (cosine) that
 *   share its class.
 *
 * Needs `npm run build`, Debian's fortunes packages and dataset-fashion-mnist. Not part of `npm test`.
 */
import { chromium } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { publish } from '../registry/src/publish.js';
import { REPO, startServer } from '../test/e2e/server.js';

const data = process.env['FASHION_MNIST_DIR'] ?? '/usr/share/datasets/fashion-mnist';
const langidDir = path.join(REPO, 'models/langid-lstm');
const embedDir = path.join(REPO, 'models/fashion-embed');

function idx(name: string): Buffer {
  const buf = gunzipSync(readFileSync(path.join(data, name)));
  return buf.subarray(4 + 4 * buf[3]!);
}
const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'webinfer-measure-text-'));
  const heldoutPath = path.join(root, 'heldout.json');
  execFileSync('/usr/bin/python3', [path.join(langidDir, 'train.py'), '--heldout', heldoutPath], { stdio: 'inherit' });
  const heldout = readJson<{ labels: string[]; texts: string[]; targets: number[] }>(heldoutPath);
  const images = idx('t10k-images-idx3-ubyte.gz');
  const labels = Array.from(idx('t10k-labels-idx1-ubyte.gz'));
  type Card = { metrics?: Record<string, number | string> };
  const langidCard = readJson<Card>(path.join(langidDir, 'card.json'));
  const embedCard = readJson<Card>(path.join(embedDir, 'card.json'));
  await publish({ modelDir: langidDir, root, id: 'langid-lstm', version: '1.0.0', card: langidCard });
  await publish({ modelDir: embedDir, root, id: 'fashion-embed', version: '1.0.0', card: embedCard });
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
    tab.on('console', (m) => process.stdout.write(`  page: ${m.text()}\n`));
    await tab.goto(`${page.url}/pages/dist.html`);
    await tab.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
    const lang = await tab.evaluate(
      async ({ registry, texts, targets }) => {
        const client = window.webinfer.createClient({ registry, backend: 'wasm', callTimeoutMs: Infinity });
        const model = await client.load('langid-lstm@1.0.0', { task: 'text-classification' });
        let correct = 0;
        const times: number[] = [];
        for (let i = 0; i < texts.length; i++) {
          const s = performance.now();
          const top = await model.classify(texts[i]!, { topK: 1 });
          times.push(performance.now() - s);
          if (top[0]!.index === targets[i]) correct++;
        }
        console.log(`one at a time: ${texts.length} calls, median ${times.slice().sort((a, b) => a - b)[times.length >> 1]!.toFixed(2)} ms`);
        const t0 = performance.now();
        const batched = await Promise.all(texts.map((t) => model.classify(t, { topK: 1 })));
        const batchedMs = performance.now() - t0;
        console.log(`all at once: ${batchedMs.toFixed(0)} ms`);
        const same = batched.filter((b, i) => b[0]!.index === targets[i]).length === correct;
        times.sort((a, b) => a - b);
        const out = { accuracy: correct / texts.length, median: times[times.length >> 1]!, p95: times[Math.floor(times.length * 0.95)]!, perSecondBatched: texts.length / (batchedMs / 1000), same, backend: (await client.ready()).name };
        await client.dispose();
        return out;
      },
      { registry: `${registry.url}/registry`, texts: heldout.texts, targets: heldout.targets },
    );
    process.stdout.write(`langid-lstm: accuracy ${(lang.accuracy * 100).toFixed(2)} % on ${heldout.texts.length} held-out sentences, classify median ${lang.median.toFixed(2)} ms, p95 ${lang.p95.toFixed(2)} ms, ${lang.perSecondBatched.toFixed(0)} sentences/s all at once (${lang.backend})\n`);
    if (!lang.same) throw new Error('batched and one-at-a-time classification disagree');

    const emb = await tab.evaluate(
      async ({ registry, b64, labels }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const client = window.webinfer.createClient({ registry, backend: 'wasm' });
        const model = await client.load('fashion-embed@1.0.0', { task: 'feature-extraction' });
        const n = labels.length;
        const t0 = performance.now();
        const rows: Float32Array[] = [];
        for (let i = 0; i < n; i += 500) {
          const part = await model.embed(Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ data: bytes.slice((i + j) * 784, (i + j + 1) * 784), width: 28, height: 28, channels: 1 as const })), { normalize: true });
          rows.push(...part);
        }
        const embedMs = performance.now() - t0;
        const d = rows[0]!.length;
        const all = new Float32Array(n * d);
        rows.forEach((r, i) => all.set(r, i * d));
        let hits = 0;
        const sims = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let k = 0; k < d; k++) s += all[i * d + k]! * all[j * d + k]!;
            sims[j] = s;
          }
          sims[i] = -Infinity;
          // The 10 largest, by partial selection.
          const best: number[] = [];
          for (let j = 0; j < n; j++) {
            if (best.length < 10 || sims[j]! > sims[best[best.length - 1]!]!) {
              best.push(j);
              best.sort((a, b) => sims[b]! - sims[a]!);
              if (best.length > 10) best.pop();
            }
          }
          hits += best.filter((j) => labels[j] === labels[i]).length;
        }
        const out = { recall: hits / (10 * n), embedMs, dims: d, backend: (await client.ready()).name };
        await client.dispose();
        return out;
      },
      { registry: `${registry.url}/registry`, b64: images.toString('base64'), labels },
    );
    process.stdout.write(`fashion-embed: recall@10 ${emb.recall.toFixed(4)} on ${labels.length} test images (cosine, ${emb.dims} dims), embedding them took ${emb.embedMs.toFixed(0)} ms (${emb.backend})\n`);

    const measuredWith = 'npm run measure:text-tasks (headless Chromium, webinfer on WASM)';
    langidCard.metrics = {
      ...langidCard.metrics,
      'accuracy.browser': Number(lang.accuracy.toFixed(5)),
      'heldoutSentences.browser': heldout.texts.length,
      'latencyMs.browser.median': Number(lang.median.toFixed(2)),
      'latencyMs.browser.p95': Number(lang.p95.toFixed(2)),
      'sentencesPerSecond.browser.batched': Math.round(lang.perSecondBatched),
      measuredWith,
    };
    embedCard.metrics = { ...embedCard.metrics, 'recallAt10.browser': Number(emb.recall.toFixed(5)), 'testImages.browser': labels.length, 'embedMs.browser.10000': Math.round(emb.embedMs), measuredWith };
    writeFileSync(path.join(langidDir, 'card.json'), `${JSON.stringify(langidCard, null, 1)}\n`);
    writeFileSync(path.join(embedDir, 'card.json'), `${JSON.stringify(embedCard, null, 2)}\n`);
    process.stdout.write('card metrics written\n');
  } finally {
    await browser.close();
    await Promise.all([registry.close(), page.close()]);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`measure-text-tasks: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
