/**
 * Benchmark of text generation in headless Chromium (WASM backend, a module worker),
 * with the built package (`npm run build` first):
 *   npx tsx scripts/bench-generate.ts [runs]     → prints JSON
 *
 * Measures, for tiny-gpt: cold load (download + build), time to first token, decode
 * speed (tokens/s over 200 greedy tokens, medians over `runs`), and streaming messages
 * per token with the default batching and with one message per token.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { chromium } from '@playwright/test';
import { REPO, startServer } from '../test/e2e/server.js';

const runs = Number(process.argv[2] ?? 5);
const root = path.join(REPO, '.tmp/bench-registry');
rmSync(root, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'scripts/publish-fixtures.ts'), root], { stdio: 'ignore' });
const mounts = { '/dist/': path.join(REPO, 'dist'), '/node_modules/comlink/': path.join(REPO, 'node_modules/comlink'), '/pages/': path.join(REPO, 'test/e2e/pages') };
const page = await startServer({ mounts, coi: true });
const registry = await startServer({ mounts: {}, registryRoot: root });
const browser = await chromium.launch({
  executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const p = await browser.newPage();
  await p.goto(`${page.url}/pages/dist.html`);
  await p.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
  await p.evaluate('globalThis.__name = (f) => f'); // tsx's keepNames helper, referenced by the evaluated function
  const result = await p.evaluate(
    async ({ registry, runs }) => {
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
      const client = window.webinfer.createClient({ registry, backend: 'wasm' });
      const backend = await client.ready();
      let t = performance.now();
      const lm = await client.load('tiny-gpt@stable', { task: 'text-generation' });
      const coldLoadMs = performance.now() - t;
      await lm.generateText('warm up', { maxTokens: 8 });
      const firstToken: number[] = [];
      const tps: number[] = [];
      const msgPerToken: number[] = [];
      for (let i = 0; i < runs; i++) {
        t = performance.now();
        const stream = lm.generate('Once upon a time', { temperature: 0, maxTokens: 200, stopAtEos: false });
        let first = 0;
        for await (const _ of stream) if (!first) first = performance.now() - t;
        const r = await stream.result;
        firstToken.push(first);
        tps.push((1000 * r.tokens.length) / r.ms);
        msgPerToken.push(r.messages / r.tokens.length);
      }
      const one = await lm.generateText('Once upon a time', { temperature: 0, maxTokens: 200, streamTokens: 1, streamMs: 0, stopAtEos: false });
      await client.dispose();
      return {
        backend: `${backend.name}${backend.simd ? '+simd' : ''}${backend.threads ? `+${backend.threadCount} threads` : ''}`,
        coldLoadMs: Math.round(coldLoadMs),
        timeToFirstTokenMs: Math.round(median(firstToken)),
        decodeTokensPerSecond: Number(median(tps).toFixed(1)),
        messagesPerTokenDefault: Number(median(msgPerToken).toFixed(3)),
        tokensPerSecondOneMessagePerToken: Number(((1000 * one.tokens.length) / one.ms).toFixed(1)),
        runs,
      };
    },
    { registry: `${registry.url}/registry`, runs },
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await browser.close();
  await page.close();
  await registry.close();
}
