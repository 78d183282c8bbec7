/**
 * `npm run bench`: the benchmark suite. Builds the benchmark page (`vite build --mode bench`),
 * publishes the benchmark models into a filesystem registry, serves everything on 127.0.0.1
 * (cross-origin isolated, so WASM threads are on), drives headless Chromium through each workload
 * in a fresh page, and writes `bench/results/latest.json` and `bench/results/latest.md`.
 *
 *   npm run bench                      # full run (~10 min on 2 cores)
 *   npm run bench -- --smoke           # few iterations: proves the harness works (CI runs this)
 *   npm run bench -- --only ceiling,classify
 *
 * Every figure: warm-up, then N runs, median and p95; paired comparisons alternate the variants
 * in the same rounds and report the median per-round ratio (see bench/pages/stats.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import { Command } from 'commander';
import { startServer } from '../test/e2e/server.js';
import type { BenchParams, WorkloadResult } from './pages/types.js';
import { evaluateTargets, toMarkdown, type BenchReport } from './report.js';
import { measureSizes } from './size.js';

const REPO = path.resolve(import.meta.dirname, '..');
const BROWSER_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Workloads in run order; `size` runs in Node, the others in the page. */
const ALL = ['size', 'ceiling'] as const;

const program = new Command()
  .name('bench')
  .option('--smoke', 'few iterations, to prove the harness runs (numbers not meaningful)', false)
  .option('--only <names>', `comma-separated subset of: ${ALL.join(', ')}`)
  .option('--out <dir>', 'results directory', path.join(REPO, 'bench/results'))
  .option('--threads <n>', 'WASM threads for every runtime', String(os.availableParallelism()))
  .option('--skip-build', 'use the existing dist/ and .tmp/bench-dist/', false)
  .parse();
const opts = program.opts<{ smoke: boolean; only?: string; out: string; threads: string; skipBuild: boolean }>();

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { cwd: REPO, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) return m[1].trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

async function main(): Promise<void> {
  const selected = opts.only ? opts.only.split(',').map((s) => s.trim()) : [...ALL];
  for (const name of selected) if (!(ALL as readonly string[]).includes(name)) throw new Error(`unknown workload "${name}" (have: ${ALL.join(', ')})`);
  const threads = Number(opts.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got ${opts.threads}`);

  const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`No Chromium at ${executablePath}. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH. The benchmark never skips.`);
  }

  if (!opts.skipBuild) {
    console.log('bench: building the library (dist/) and the benchmark page (.tmp/bench-dist/)');
    run(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn']);
    run(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--mode', 'bench', '--logLevel', 'warn']);
  }
  const registryRoot = path.join(REPO, '.tmp/bench-registry');
  run(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'scripts/publish-fixtures.ts'), registryRoot]);

  const server = await startServer({
    coi: true,
    registryRoot,
    mounts: {
      '/ort/': path.join(REPO, 'node_modules/onnxruntime-web/dist'),
      '/models/': path.join(REPO, 'models'),
      '/fixtures/': path.join(REPO, 'bench/fixtures'),
      '/': path.join(REPO, '.tmp/bench-dist'),
    },
  });
  const params: BenchParams = { smoke: opts.smoke, registry: `${server.url}/registry`, files: server.url, ort: `${server.url}/ort/`, threads };
  const browser: Browser = await chromium.launch({ executablePath, args: BROWSER_ARGS, headless: true });
  const results: Record<string, WorkloadResult> = {};
  let pageEnv: { crossOriginIsolated: boolean; hardwareConcurrency: number; userAgent: string } | undefined;
  const failures: string[] = [];
  try {
    for (const name of selected) {
      const t0 = Date.now();
      process.stdout.write(`bench: ${name} … `);
      try {
        if (name === 'size') {
          results[name] = measureSizes(path.join(REPO, 'dist'));
        } else {
          const context = await browser.newContext();
          const page = await context.newPage();
          page.setDefaultTimeout(opts.smoke ? 180_000 : 1_200_000);
          const errors: string[] = [];
          page.on('pageerror', (e) => errors.push(String(e)));
          await page.goto(`${server.url}/index.html`);
          await page.waitForFunction(() => typeof window.bench === 'object');
          pageEnv ??= await page.evaluate(() => window.bench.env());
          results[name] = await page.evaluate(([n, p]) => window.bench.run(n, p), [name, params] as const);
          await context.close();
          if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
        }
        console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } catch (e) {
        console.log('FAILED');
        console.error(e);
        failures.push(`${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    }
  } finally {
    const version = browser.version();
    await browser.close();
    await server.close();
    const report: BenchReport = {
      schema: 1,
      date: new Date().toISOString(),
      mode: opts.smoke ? 'smoke' : 'full',
      machine: {
        cpu: cpuModel(),
        cores: os.cpus().length,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        chromium: version,
        crossOriginIsolated: pageEnv?.crossOriginIsolated ?? null,
        hardwareConcurrency: pageEnv?.hardwareConcurrency ?? null,
        threads,
        backend: 'wasm',
        loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
      },
      workloads: results,
      targets: evaluateTargets(results),
      failures,
    };
    mkdirSync(opts.out, { recursive: true });
    const base = opts.smoke ? 'smoke' : 'latest';
    writeFileSync(path.join(opts.out, `${base}.json`), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(path.join(opts.out, `${base}.md`), toMarkdown(report));
    console.log(`bench: wrote ${path.relative(REPO, path.join(opts.out, `${base}.json`))} and ${base}.md`);
  }
  if (failures.length) {
    console.error(`bench: ${failures.length} workload(s) failed:\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
