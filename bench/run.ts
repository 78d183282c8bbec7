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
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { Command } from 'commander';
import { startServer } from '../test/e2e/server.js';
import type { BenchParams, Row, WorkloadResult } from './pages/types.js';
import { summarize } from './pages/stats.js';
import { evaluateTargets, toMarkdown, type BenchReport } from './report.js';
import { measureSizes } from './size.js';

const REPO = path.resolve(import.meta.dirname, '..');
const BROWSER_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Workloads in run order; `size` runs in Node, the others in the page. */
const ALL = ['size', 'ceiling', 'classify', 'overhead', 'blocking', 'throughput', 'generation', 'coldstart', 'memory', 'gpt2'] as const;

const program = new Command()
  .name('bench')
  .option('--smoke', 'few iterations, to prove the harness runs (numbers not meaningful)', false)
  .option('--only <names>', `comma-separated subset of: ${ALL.join(', ')}`)
  .option('--out <dir>', 'results directory', path.join(REPO, 'bench/results'))
  .option('--threads <n>', 'WASM threads for every runtime', String(os.availableParallelism()))
  .option('--skip-lib-build', 'use the existing library build in dist/ (npm test has just built it)', false)
  .parse();
const opts = program.opts<{ smoke: boolean; only?: string; out: string; threads: string; skipLibBuild: boolean }>();

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

/** Opens the bench page in a context; page errors fail the workload that is running. */
async function openBenchPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(opts.smoke ? 180_000 : 1_200_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  (page as Page & { benchErrors?: string[] }).benchErrors = errors;
  await page.goto(`${url}/index.html`);
  await page.waitForFunction(() => typeof window.bench === 'object');
  return page;
}

async function runInPage(page: Page, name: string, params: BenchParams): Promise<WorkloadResult> {
  const result = await page.evaluate(([n, p]) => window.bench.run(n, p), [name, params] as const);
  const errors = (page as Page & { benchErrors?: string[] }).benchErrors ?? [];
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  return result;
}

/**
 * Cold start: each repetition is a fresh browser context (empty Cache API and HTTP cache) →
 * phase `cold`, then a page reload → phase `warm`. Per-repetition figures are merged into a
 * median and p95 per row.
 */
async function coldStart(browser: Browser, url: string, params: BenchParams, reps: number): Promise<WorkloadResult> {
  const samples = new Map<string, { row: Row; values: number[] }>();
  let facts: Readonly<Record<string, unknown>> | undefined;
  for (let i = 0; i < reps; i++) {
    const context = await browser.newContext();
    const page = await openBenchPage(context, url);
    for (const phase of ['cold', 'warm']) {
      if (phase === 'warm') {
        await page.reload();
        await page.waitForFunction(() => typeof window.bench === 'object');
      }
      const r = await runInPage(page, 'coldstart', { ...params, extra: { phase } });
      facts ??= r.facts;
      for (const row of r.rows) {
        const entry = samples.get(row.id) ?? { row, values: [] };
        entry.values.push(row.median);
        samples.set(row.id, entry);
      }
    }
    await context.close();
  }
  const rows: Row[] = [...samples.values()].map(({ row, values }) => {
    const s = summarize(values);
    return { id: row.id, label: `${row.id.includes('.warm.') ? 'warm (reload)' : 'cold (fresh profile)'}: ${row.label}`, unit: row.unit, median: s.median, p95: s.p95, n: s.n };
  });
  return {
    title: 'Cold start: fresh profile vs page reload',
    rows,
    ...(facts ? { facts } : {}),
    notes: [`${reps} repetitions, each in a fresh browser context (cold), then reloaded (warm); n = repetitions. The steady-state row is the median per repetition of 50 calls.`],
  };
}

/** Pids of Chromium's renderer processes now (from /proc: `--type=renderer` on the command line). */
function rendererPids(): Set<number> {
  const out = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('--type=renderer')) out.add(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Peak resident memory (VmHWM) of a process, bytes; 0 when unknown. */
function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The GPT-2-small workload: phase `speed` in one page, then one fresh browser context per memory
 * phase (float32, int8, int4 on webinfer; ONNX Runtime), each with the renderer's peak resident
 * memory (VmHWM, which covers the page's workers) read after the run.
 */
async function gpt2Workload(browser: Browser, url: string, params: BenchParams, model: string): Promise<WorkloadResult> {
  const rows: Row[] = [];
  const notes: string[] = [];
  let title = '';
  let facts: Readonly<Record<string, unknown>> | undefined;
  for (const phase of ['speed', 'memory.baseline', 'memory.float32', 'memory.int8', 'memory.int4', 'memory.ort']) {
    const before = rendererPids();
    const context = await browser.newContext();
    const page = await openBenchPage(context, url);
    const r = await runInPage(page, 'gpt2', { ...params, extra: { phase, model } });
    const fresh = [...rendererPids()].filter((pid) => !before.has(pid));
    const peak = Math.max(0, ...fresh.map(peakRss));
    await context.close();
    if (phase === 'speed') {
      title = r.title;
      facts = r.facts;
      notes.push(...(r.notes ?? []));
    } else {
      const runtime = phase.slice('memory.'.length);
      const who = runtime === 'ort' ? 'ONNX Runtime float32' : runtime === 'baseline' ? 'webinfer, backend ready, no model' : `webinfer ${runtime}`;
      rows.push({ id: `gpt2.memory.${runtime}.peak`, label: `${who}: peak resident memory of the page (VmHWM, workers included)`, unit: 'bytes', median: peak });
    }
    rows.push(...r.rows);
  }
  const weights = rows.find((x) => x.id === 'gpt2.float32.weight-bytes')?.median;
  const baseline = rows.find((x) => x.id === 'gpt2.memory.baseline.peak')?.median ?? 0;
  for (const kind of ['float32', 'int8', 'int4']) {
    const peak = rows.find((x) => x.id === `gpt2.memory.${kind}.peak`)?.median;
    const held = rows.find((x) => x.id === `gpt2.memory.${kind}.weights`)?.median;
    if (peak && held) {
      rows.push({ id: `gpt2.memory.${kind}.peak-vs-weights`, label: `webinfer ${kind}: (peak − the no-model baseline) / weights as held`, unit: '×', median: (peak - baseline) / held });
    }
  }
  const ortPeak = rows.find((x) => x.id === 'gpt2.memory.ort.peak')?.median;
  if (ortPeak && weights) rows.push({ id: 'gpt2.memory.ort.peak-vs-weights', label: 'ONNX Runtime float32: (peak − the no-model baseline) / float32 weights', unit: '×', median: (ortPeak - baseline) / weights });
  if (weights) notes.push(`float32 weights as held: ${(weights / 2 ** 20).toFixed(0)} MiB. Peak memory is the renderer's VmHWM (the page, its worker and the engine's threads), each runtime in a fresh context.`);
  return { title, rows, notes, ...(facts ? { facts } : {}) };
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

  if (!opts.skipLibBuild) {
    console.log('bench: building the library (dist/)');
    run(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn']);
  }
  console.log('bench: building the benchmark page (.tmp/bench-dist/)');
  run(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--mode', 'bench', '--logLevel', 'warn']);
  const registryRoot = path.join(REPO, '.tmp/bench-registry');
  run(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'scripts/publish-fixtures.ts'), registryRoot]);
  run(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'bench/publish-bench-models.ts'), registryRoot, ...(opts.smoke ? ['--smoke'] : [])]);

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
        } else if (name === 'gpt2') {
          results[name] = await gpt2Workload(browser, server.url, params, opts.smoke ? 'gpt2-smoke' : 'gpt2-124m');
        } else if (name === 'coldstart') {
          results[name] = await coldStart(browser, server.url, params, opts.smoke ? 1 : 7);
        } else {
          const context = await browser.newContext();
          const page = await openBenchPage(context, server.url);
          pageEnv ??= await page.evaluate(() => window.bench.env());
          results[name] = await runInPage(page, name, params);
          await context.close();
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
