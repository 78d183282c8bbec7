/**
 * A walk through the demo (demo/, the page `npm run demo` serves): the Vite dev server
 * with the demo config (cross-origin isolated) and the fixture registry under /registry.
 * Pick the model → click a Fashion-MNIST test sample → the right label comes first.
 * Screenshots are attached to the test output (test-results/).
 */
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { registryStatic } from '../../scripts/demo-registry.mjs';
import { expect, REGISTRY_ROOT, test } from './fixtures.js';
import { REPO } from './server.js';

let vite: ViteDevServer;
let base: string;

test.beforeAll(async () => {
  vite = await createServer({
    configFile: path.join(REPO, 'vite.config.ts'),
    mode: 'demo',
    cacheDir: path.join(REPO, '.tmp/vite-demo-e2e'),
    logLevel: 'warn',
    clearScreen: false,
    plugins: [registryStatic(REGISTRY_ROOT)],
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
  });
  await vite.listen();
  const address = vite.httpServer?.address() as AddressInfo | null;
  if (!address || typeof address === 'string') throw new Error('the demo dev server did not start listening');
  base = `http://127.0.0.1:${address.port}`;
});

test.afterAll(async () => {
  await vite?.close();
});

test('demo: catalogue in the picker, a test-set sample gets its right label, backend badge and latency shown', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => (window as unknown as { demoReady?: boolean }).demoReady === true, undefined, { timeout: 120_000 });

  // The picker lists the registry's image classifiers, with aliases and versions.
  const models = await page.locator('#model option').allTextContents();
  expect(models).toEqual(expect.arrayContaining(['fashion-mnist-cnn', 'emotion', 'tiny-cnn']));
  expect(models).not.toContain('not-a-classifier'); // a text-generation model
  await page.selectOption('#model', 'fashion-mnist-cnn');
  await expect(page.locator('#version option')).toContainText(['@latest → 1.0.0', '@stable → 1.0.0', '1.0.0']);
  await page.selectOption('#dtype', 'float32');
  await expect(page.locator('#model-info')).toContainText('fashion-mnist-cnn@1.0.0', { timeout: 60_000 });
  await expect(page.locator('#model-info')).toContainText('float32 weights');
  await expect(page.locator('#progress-bar')).toHaveAttribute('style', /width: 100%/);
  await expect(page.locator('#backend')).toHaveText(/backend: wasm \+ SIMD \+ threads/);
  await page.screenshot({ path: testInfo.outputPath('demo-1-loaded.png'), fullPage: true });

  const samples = page.locator('#samples button');
  expect(await samples.count()).toBe(10);
  for (const i of [7, 1]) {
    const sample = samples.nth(i);
    const label = await sample.getAttribute('data-label');
    expect(label).toBeTruthy();
    await sample.click();
    await expect(page.locator('#result li').first()).toContainText(`${label} — `, { timeout: 60_000 });
    await expect(page.locator('#latency')).toContainText(/classified in \d+\.\d ms/);
    await page.screenshot({ path: testInfo.outputPath(`demo-2-sample-${i}.png`), fullPage: true });
  }
  expect(await page.locator('#error').textContent()).toBe('');
  expect(errors).toEqual([]);
  for (const f of ['demo-1-loaded.png', 'demo-2-sample-7.png', 'demo-2-sample-1.png']) await testInfo.attach(f, { path: testInfo.outputPath(f), contentType: 'image/png' });
});

test('demo: the text panel lists the text models, generates readable, wrapped text with no special tokens, and chats with a chat model', async ({ page }, testInfo) => {
  test.setTimeout(240_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => (window as unknown as { generateReady?: boolean }).generateReady === true, undefined, { timeout: 120_000 });
  const models = await page.locator('#gen-model option').allTextContents();
  expect(models).toEqual(expect.arrayContaining(['tiny-gpt', 'llama-tiny', 'qwen2-tiny']));
  expect(models).not.toContain('fashion-mnist-cnn');
  const completion = models.includes('llama-fortunes') ? 'llama-fortunes' : 'tiny-gpt';
  expect(models[0]).toBe(completion); // the best text model first

  // Completion: a seeded sample with end-of-text tokens allowed through (stop at end of text off) — none shows.
  await page.selectOption('#gen-model', completion);
  await expect(page.locator('#gen-stats')).toContainText('completion', { timeout: 60_000 });
  await page.fill('#gen-prompt', 'Once upon a time');
  await page.fill('#gen-seed', '3');
  await page.fill('#gen-max', '200');
  await page.uncheck('#gen-stop-eos');
  await page.click('#gen-start');
  await expect(page.locator('#gen-stats')).toContainText('finish: length', { timeout: 120_000 });
  const text = (await page.locator('#gen-output .reply').textContent()) ?? '';
  expect(text.length).toBeGreaterThan(100);
  expect(text).not.toMatch(/<\/?s>|<\|endoftext\|>|<\|im_(start|end)\|>|<unk>/);
  // The output wraps: nothing runs out of its panel sideways.
  const box = await page.locator('#gen-output').evaluate((e) => ({ scroll: e.scrollWidth, client: e.clientWidth }));
  expect(box.scroll).toBeLessThanOrEqual(box.client);
  await expect(page.locator('#gen-prompt-tokens')).toContainText(/^\d+ prompt tokens of \d+$/);
  await page.screenshot({ path: testInfo.outputPath('demo-3-generate.png'), fullPage: true });

  // A chat model gets a conversation: the reply is added to it, the prompt clears.
  await page.selectOption('#gen-model', 'qwen2-tiny');
  await expect(page.locator('#gen-stats')).toContainText('chat', { timeout: 60_000 });
  await expect(page.locator('#gen-start')).toHaveText('Send');
  await page.fill('#gen-prompt', 'Hello!');
  await page.fill('#gen-max', '12');
  await page.click('#gen-start');
  await expect(page.locator('#gen-conversation .turn')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.locator('#gen-conversation .turn.user')).toContainText('Hello!');
  expect(await page.locator('#gen-conversation').textContent()).not.toMatch(/<\|im_(start|end)\|>/);
  await page.screenshot({ path: testInfo.outputPath('demo-4-chat.png'), fullPage: true });
  expect(await page.locator('#gen-error').textContent()).toBe('');
  expect(errors).toEqual([]);
  for (const f of ['demo-3-generate.png', 'demo-4-chat.png']) await testInfo.attach(f, { path: testInfo.outputPath(f), contentType: 'image/png' });
});

test('demo: the images panel samples a seeded grid from a generator and interpolates between two pictures (VAE) or two latents (GAN)', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => (window as unknown as { imagesReady?: boolean }).imagesReady === true, undefined, { timeout: 120_000 });
  const models = await page.locator('#img-model option').allTextContents();
  expect(models).toEqual(expect.arrayContaining(['fashion-vae', 'fashion-dcgan']));
  expect(models).not.toContain('fashion-mnist-cnn');
  for (const id of ['fashion-vae', 'fashion-dcgan']) {
    await page.selectOption('#img-model', id);
    await expect(page.locator('#img-description')).toContainText(`${id}@1.0.0`, { timeout: 60_000 });
    await expect(page.locator('#img-stats')).toContainText('16 pictures from seed 1', { timeout: 60_000 });
    await expect(page.locator('#img-grid canvas')).toHaveCount(16);
    await page.evaluate(() => ((window as unknown as { imagesInterpolated?: number }).imagesInterpolated = 0));
    await page.click('#img-interpolate');
    await page.waitForFunction(() => (window as unknown as { imagesInterpolated?: number }).imagesInterpolated === 8, undefined, { timeout: 60_000 });
    await expect(page.locator('#img-path canvas')).toHaveCount(8);
    // The pictures are drawn: a canvas of the grid is 28×28 and not blank.
    const lit = await page.locator('#img-grid canvas').first().evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! > 64) n++;
      return { n, w: c.width, h: c.height };
    });
    expect(lit.w).toBe(28);
    expect(lit.h).toBe(28);
    expect(lit.n).toBeGreaterThan(20);
    const shot = `demo-5-images-${id}.png`;
    await page.locator('#images-panel').screenshot({ path: testInfo.outputPath(shot) });
    await testInfo.attach(shot, { path: testInfo.outputPath(shot), contentType: 'image/png' });
  }
  expect(await page.locator('#img-error').textContent()).toBe('');
  expect(errors).toEqual([]);
});

test('demo: the language panel names the language as you type, and a clicked sample shows its similar items', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => (window as unknown as { languageReady?: boolean; similarReady?: boolean }).languageReady === true, undefined, { timeout: 120_000 });
  await expect(page.locator('#lang-result li').first()).toContainText('German (de)');
  await page.locator('#lang-input').fill('');
  await page.locator('#lang-input').pressSequentially('Где находится ближайший вокзал?', { delay: 10 });
  await expect(page.locator('#lang-result li').first()).toContainText('Russian (ru)', { timeout: 30_000 });
  await expect(page.locator('#lang-info')).toContainText(/classified in \d+\.\d ms by langid-lstm@1\.0\.0/);
  await page.locator('#language-panel').screenshot({ path: testInfo.outputPath('demo-5-language.png') });

  await page.waitForFunction(() => (window as unknown as { similarReady?: boolean }).similarReady === true, undefined, { timeout: 120_000 });
  await expect(page.locator('#similar-status')).toContainText('300 pictures embedded (64 values each)');
  const sample = page.locator('#samples button').nth(1); // Trouser
  const label = await sample.getAttribute('data-label');
  await sample.click();
  await expect(page.locator('#similar-result figure')).toHaveCount(8, { timeout: 30_000 });
  await expect(page.locator('#similar-query')).toContainText(`query: ${label}`);
  // Trousers are easy: the nearest neighbours are trousers.
  const labels = await page.locator('#similar-result figure').evaluateAll((fs) => fs.map((f) => (f as HTMLElement).dataset['label']));
  expect(labels.filter((l) => l === label).length).toBeGreaterThanOrEqual(7);
  await page.locator('#similar-panel').screenshot({ path: testInfo.outputPath('demo-6-similar.png') });
  expect(await page.locator('#lang-error').textContent()).toBe('');
  expect(await page.locator('#similar-error').textContent()).toBe('');
  expect(errors).toEqual([]);
  for (const f of ['demo-5-language.png', 'demo-6-similar.png']) await testInfo.attach(f, { path: testInfo.outputPath(f), contentType: 'image/png' });
});
