/**
 * The packed package in a user's Vite app: test/consumer/ is built by
 * `npm run build:consumer` (npm pack → node_modules/webinfer → `vite build`) and
 * served under /consumer/. The app's bundler, not ours, must have copied the worker
 * chunk and the WASM binaries: the page must find and use them.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Page, Response } from '@playwright/test';
import { expect, registryUrl, test } from './fixtures.js';
import { pattern, tinyCnnReference } from './reference.js';
import { REPO } from './server.js';

const CONSUMER_DIST = path.join(REPO, 'test/consumer/dist');

interface Result {
  ok: boolean;
  top?: { index: number; score: number; label: string }[];
  backend?: { name: string; threads: boolean; simd: boolean; crossOriginIsolated: boolean; reason: string };
  model?: { id: string; version: string };
  error?: { name: string; message: string; code?: string };
}

test.beforeAll(() => {
  if (!existsSync(path.join(CONSUMER_DIST, 'index.html'))) {
    throw new Error(`The consumer app is not built (${path.relative(REPO, CONSUMER_DIST)}/index.html is missing): run \`npm run build:consumer\` (after \`npm run build:lib\`).`);
  }
});

/** Every response the page and its workers get, as URL + content-type. */
function recordResponses(page: Page): { url: string; status: number; type: string }[] {
  const seen: { url: string; status: number; type: string }[] = [];
  const record = (r: Response): void => {
    seen.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] ?? '' });
  };
  // Requests made inside dedicated workers are reported on the context (and the page); listen on the context to be sure.
  page.context().on('response', record);
  return seen;
}

async function classifyInConsumer(page: Page): Promise<Result> {
  const pixels = Array.from(pattern(28, 28, 1));
  return page.evaluate(
    async (data) => (window as unknown as { consumer: { classify(p: unknown, topK: number): Promise<Result> } }).consumer.classify({ data, width: 28, height: 28, channels: 1 }, 10),
    pixels,
  );
}

const consumerPath = (registry: string): string => `/consumer/index.html?${new URLSearchParams({ registry, model: 'tiny-cnn@stable', backend: 'wasm' })}`;
const READY = 'window.consumerReady === true';

test.describe('the packed package in a Vite app', () => {
  test('tiny-cnn@stable classifies like plain tfjs; the WASM binary comes from the app\'s own assets', async ({ open, registry, servers }) => {
    const reference = await tinyCnnReference(pattern(28, 28, 1), 1);
    const page = await open({ path: consumerPath(registryUrl(registry)), ready: READY });
    const responses = recordResponses(page);
    const r = await classifyInConsumer(page);
    expect(r.error, 'classify() failed in the consumer app').toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.backend?.name).toBe('wasm');
    expect(r.backend?.threads).toBe(false);
    expect(r.model).toEqual({ id: 'tiny-cnn', version: '1.0.0' });
    const top = r.top!;
    expect(top).toHaveLength(10);
    const order = reference.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i);
    expect(top.map((p) => p.index)).toEqual(order.map((o) => o.i));
    for (const p of top) expect(Math.abs(p.score - (reference[p.index] as number)), `index ${p.index}`).toBeLessThan(1e-5);

    const wasm = responses.filter((x) => /\.wasm(\?|$)/.test(x.url));
    expect(wasm.length, `wasm responses: ${JSON.stringify(responses.map((x) => x.url))}`).toBeGreaterThanOrEqual(1);
    for (const w of wasm) {
      // tfjs's WASM backend, and our engine (the CNN runs on it on WASM): both hashed into the app's assets.
      expect(w.url).toMatch(new RegExp(`^${servers.page.url.replace(/[.:/]/g, '\\$&')}/consumer/assets/(tfjs-backend-wasm(-simd|-threaded-simd)?|engine-st(-rx)?)-[\\w-]{8}\\.wasm$`));
      expect(w.status).toBe(200);
      expect(w.type).toBe('application/wasm');
    }
    // Nothing from the library's own dist/ (mounted on the same server) or an unbundled node_modules.
    expect(responses.filter((x) => /\/(dist|node_modules)\//.test(new URL(x.url).pathname)).map((x) => x.url)).toEqual([]);
    const worker = responses.filter((x) => /\/consumer\/assets\/runtime\.worker[-\w]*\.js$/.test(x.url));
    expect(worker, 'the worker chunk came from the app\'s assets').toHaveLength(1);
  });

  test('cross-origin isolated: WASM threads on, the threaded-SIMD binary from the app\'s assets', async ({ open, registry, servers }) => {
    // Regression test: the app's minifier once broke tfjs's threaded WASM factory (a ReferenceError in
    // every pthread); see tfjsThreadedGluePatches in vite.config.ts.
    const reference = await tinyCnnReference(pattern(28, 28, 1), 1);
    const page = await open({ coi: true, path: consumerPath(registryUrl(registry)), ready: READY });
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const responses = recordResponses(page);
    const r = await classifyInConsumer(page);
    expect(r.error, 'classify() failed in the consumer app').toBeUndefined();
    expect(r.backend?.name).toBe('wasm');
    expect(r.backend?.threads).toBe(true);
    expect(r.backend?.crossOriginIsolated).toBe(true);
    const top = r.top!;
    expect(top).toHaveLength(10);
    for (const p of top) expect(Math.abs(p.score - (reference[p.index] as number)), `index ${p.index}`).toBeLessThan(1e-5);
    const wasm = responses.filter((x) => /\.wasm(\?|$)/.test(x.url));
    // tfjs's threaded-SIMD binary and our engine's threaded build, both from the app's assets.
    const assets = `^${servers.isolated.url.replace(/[.:/]/g, '\\$&')}/consumer/assets/`;
    expect(wasm.map((w) => w.url).sort()).toEqual([
      expect.stringMatching(new RegExp(`${assets}engine-mt(-rx)?-[\\w-]{8}\\.wasm$`)),
      expect.stringMatching(new RegExp(`${assets}tfjs-backend-wasm-threaded-simd-[\\w-]{8}\\.wasm$`)),
    ]);
    for (const w of wasm) expect(w.type).toBe('application/wasm');
  });
});

test.describe('the packed package when WASM threads cannot start', () => {
  test('a thread bootstrap that throws: single-threaded SIMD WASM, the reason in backend.rejected, same scores', async ({ open, registry, page: fixturePage }) => {
    // The threads start from a real file (assets/tfjs-backend-wasm-threaded-simd-*.js, scripts/tfjs-glue.ts); a page
    // where that file throws (a bundler that broke it, a CSP, a proxy) must not crash the worker.
    const reference = await tinyCnnReference(pattern(28, 28, 1), 1);
    const served: string[] = [];
    await fixturePage.context().route(/\/consumer\/assets\/tfjs-backend-wasm-threaded-simd-[\w-]{8}\.js$/, (route) => {
      served.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/javascript', headers: { 'Cross-Origin-Resource-Policy': 'same-origin' }, body: 'throw new Error("planted: the thread bootstrap is broken");' });
    });
    // (The fixture fails the test on any uncaught error on the page.)
    const page = await open({ coi: true, path: consumerPath(registryUrl(registry)), ready: READY });
    const r = await classifyInConsumer(page);
    expect(r.error, 'classify() failed in the consumer app').toBeUndefined();
    expect(served.length, 'the broken thread bootstrap was requested').toBeGreaterThanOrEqual(1);
    expect(r.backend?.name).toBe('wasm');
    expect(r.backend?.crossOriginIsolated).toBe(true);
    expect(r.backend?.threads).toBe(false);
    expect(r.backend?.simd).toBe(true);
    const note = (r.backend as unknown as { rejected: { name: string; reason: string }[] }).rejected.find((x) => x.name === 'wasm');
    expect(note?.reason).toMatch(/^multi-threaded WASM could not start \(a WASM thread failed to start: .*planted: the thread bootstrap is broken/);
    expect(note?.reason).not.toContain('[object');
    const top = r.top!;
    expect(top).toHaveLength(10);
    for (const p of top) expect(Math.abs(p.score - (reference[p.index] as number)), `index ${p.index}`).toBeLessThan(1e-5);
  });
});
