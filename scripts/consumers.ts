/**
 * `npm run test:consumers` (a step of `npm test`): webinfer as a new user gets it, in one fresh app per tool.
 *
 *  1. Packs the three packages (webinfer, @webinfer/registry, @webinfer/models) from the built tree.
 *  2. The README's npm-only quick start in an empty folder: installs the three tarballs and starts
 *     `npx webinfer-registry serve --demo` (the registry every app below loads from).
 *  3. For each app in test/consumers/<tool>/ (Vite latest, Vite 5, esbuild, Rollup, webpack 5, Parcel 2): copies it with
 *     the shared app code (test/consumers/shared/), installs the packed webinfer and the tool from the npm
 *     registry (one npm cache for all), builds it with the app's own config (only what the README shows), serves
 *     the output with COOP/COEP and opens it in headless Chromium; the Vite and webpack apps also run their dev server.
 *  4. Every app must classify the same Fashion-MNIST image as "Shirt" with PyTorch's score (±1e-4), continue
 *     "Once upon a time" with tiny-gpt's greedy tokens (as PyTorch), on WASM with threads, and all apps must agree on
 *     the score (±1e-6).
 *
 * Prints one `ok   …` / `FAIL …` line per app (label, score, backend, threads) and exits non-zero on any failure.
 * Builds run one at a time (the machine is shared).
 *
 *   npx tsx scripts/consumers.ts [tool…]      (default: every app)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from '@playwright/test';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(REPO, '.tmp/consumers');
const TARBALLS = path.join(WORK, 'tarballs');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** PyTorch's answers: models/fashion-mnist-cnn/parity/expected.json (image 0) and models/tiny-gpt/parity.json (greedy, up to the end token). */
const EXPECTED = { label: 'Shirt', score: 0.9581988, text: '.\n\t\t-- M.', finishReason: 'eos' };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface App {
  /** Folder under test/consumers/. */
  readonly name: string;
  /** What is served after the build, relative to the app (the folder holding index.html). */
  readonly serve: string;
  /** Also run the dev server: `npm run dev -- <devArgs(port)>` (default: Vite's `--port N --strictPort --host 127.0.0.1`). */
  readonly dev?: boolean;
  readonly devArgs?: (port: number) => string[];
  /** The folder under test/consumers/ when several apps share it (default: name). */
  readonly from?: string;
  /** The npm script that builds it (default: build). */
  readonly build?: string;
}
const APPS: readonly App[] = [
  { name: 'vite', serve: 'dist', dev: true },
  { name: 'vite5', serve: 'dist', dev: true },
  { name: 'esbuild', serve: '.' },
  { name: 'rollup', serve: '.' },
  { name: 'webpack', serve: '.', dev: true, devArgs: (port) => ['--port', String(port), '--host', '127.0.0.1'] },
  { name: 'parcel', serve: 'dist' },
  { name: 'next-turbopack', from: 'next', serve: 'out' },
  { name: 'next-webpack', from: 'next', serve: 'out', build: 'build:webpack' },
];

interface Result {
  label?: string;
  score?: number;
  text?: string;
  finishReason?: string;
  backend?: string;
  threads?: number;
  simd?: boolean;
  crossOriginIsolated?: boolean;
  rejected?: { name: string; reason: string }[];
  error?: string;
}

let failures = 0;
const scores: { name: string; score: number }[] = [];
const children: ChildProcess[] = [];

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${path.relative(REPO, cwd)}) failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n  ')}`);
  return r.stdout;
}

function pack(dir: string): string {
  const out = run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', TARBALLS], dir);
  const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
  return path.join(TARBALLS, info[0]!.filename);
}

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.map': 'application/json' };

/** A static server with the headers the README asks for (COOP/COEP); 404 for anything outside `root`. */
function serveStatic(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = path.join(root, rel);
    if (!file.startsWith(root)) file = root + '/-';
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-cache',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a long-running command and waits until its output matches `ready` (or it exits, or 60 s pass). */
function start(cmd: string, args: string[], cwd: string, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    children.push(child);
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')}: not ready after 60 s:\n${seen.slice(-1000)}`)), 60_000);
    const on = (b: Buffer): void => {
      seen += b.toString();
      const m = ready.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')} exited (${code}) before it was ready:\n${seen.slice(-1000)}`));
    });
  });
}

function stop(child: ChildProcess): void {
  if (child.exitCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGTERM'); // its own process group (detached): npm and the tool it started
  } catch {
    child.kill('SIGTERM');
  }
}

async function openAndRead(browser: Browser, url: string): Promise<Result> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { webinferResult?: unknown }).webinferResult !== undefined, undefined, { timeout: 90_000 });
    const r = (await page.evaluate(() => (window as unknown as { webinferResult: Result }).webinferResult)) as Result;
    if (errors.length) return { ...r, error: `${r.error ? `${r.error}; ` : ''}uncaught on the page: ${errors.join(' | ')}` };
    return r;
  } catch (e) {
    return { error: `${e instanceof Error ? e.message.split('\n')[0] : String(e)}${errors.length ? `; uncaught on the page: ${errors.join(' | ')}` : ''}` };
  } finally {
    await page.close();
  }
}

function report(name: string, r: Result, seconds: number): void {
  const problems: string[] = [];
  if (r.error) problems.push(r.error);
  else {
    if (r.label !== EXPECTED.label) problems.push(`label ${r.label}, expected ${EXPECTED.label}`);
    if (typeof r.score !== 'number' || !(Math.abs(r.score - EXPECTED.score) < 1e-4)) problems.push(`score ${r.score}, expected ${EXPECTED.score} ± 1e-4 (PyTorch)`);
    if (r.text !== EXPECTED.text || r.finishReason !== EXPECTED.finishReason) problems.push(`generated ${JSON.stringify(r.text)} (${r.finishReason}), expected ${JSON.stringify(EXPECTED.text)} (${EXPECTED.finishReason}), PyTorch's greedy tokens`);
    if (r.backend !== 'wasm') problems.push(`backend ${r.backend}, expected wasm (headless Chromium without WebGPU)`);
    if (r.crossOriginIsolated !== true) problems.push('the page is not cross-origin isolated');
    if (!(typeof r.threads === 'number' && r.threads > 1)) problems.push(`threads ${r.threads}, expected more than 1 (COOP/COEP served)${r.rejected?.length ? `; rejected: ${JSON.stringify(r.rejected)}` : ''}`);
  }
  const line = `${name}: label ${r.label ?? '-'}, score ${r.score ?? '-'}, text ${JSON.stringify(r.text ?? '-')}, backend ${r.backend ?? '-'}, threads ${r.threads ?? '-'}`;
  if (problems.length) {
    failures++;
    console.log(`FAIL ${line}: ${problems.join('; ')}`);
  } else {
    scores.push({ name, score: r.score! });
    console.log(`ok   ${line} ${seconds.toFixed(1)} s`);
  }
}

/**
 * The README's quick start, literally: its index.html, main.js and vite.config.js code blocks written into the
 * quick-start folder (which has the three tarballs and Vite), `npx vite`, and the page must print a label with its
 * score, some generated text and a multi-threaded WASM backend.
 */
async function readmeQuickStart(browser: Browser, dir: string, registry: string): Promise<void> {
  const t0 = performance.now();
  let child: ChildProcess | undefined;
  try {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Quick start (npm only)'), readme.indexOf('## From the repository'));
    const blocks = [...section.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const file = (first: RegExp): string => {
      const b = blocks.find((x) => first.test(x.split('\n')[0]!));
      if (!b) throw new Error(`the README's quick start has no block starting with ${first}`);
      return b;
    };
    writeFileSync(path.join(dir, 'index.html'), file(/^<!-- index\.html -->/));
    // The registry URL in main.js is the demo registry's default (port 8080); this run's registry has its own port.
    writeFileSync(path.join(dir, 'main.js'), file(/^\/\/ main\.js/).replace("'http://127.0.0.1:8080'", JSON.stringify(registry)));
    writeFileSync(path.join(dir, 'vite.config.js'), file(/^\/\/ vite\.config\.js/));
    const install = file(/^npm init/);
    if (!/npm install -D vite @webinfer\/registry @webinfer\/models/.test(install)) throw new Error('the quick start no longer installs vite, @webinfer/registry and @webinfer/models');
    run(npm, ['install', '--prefer-offline', '-D', 'vite@^8.0.0'], dir);
    const port = await freePort();
    child = (await start(path.join(dir, 'node_modules/.bin/vite'), ['--port', String(port), '--strictPort', '--host', '127.0.0.1'], dir, new RegExp(`http://127\\.0\\.0\\.1:${port}`))).child;
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => /backend: /.test(document.getElementById('out')?.textContent ?? ''), undefined, { timeout: 90_000 });
      const out = (await page.textContent('#out')) ?? '';
      const m = /^(.+) (\d\.\d{3})\n([\s\S]+)\n\nbackend: (\w+), (\d+) thread\(s\)/.exec(out);
      if (errors.length) throw new Error(`uncaught on the page: ${errors.join(' | ')}`);
      if (!m) throw new Error(`unexpected output: ${JSON.stringify(out.slice(0, 300))}`);
      if (m[4] !== 'wasm' || Number(m[5]) < 2) throw new Error(`backend ${m[4]} with ${m[5]} thread(s), expected multi-threaded wasm: ${out.slice(-200)}`);
      if (m[3]!.trim().length === 0) throw new Error('no generated text');
      console.log(`ok   README quick start (index.html, main.js, vite.config.js from README.md, npx vite): ${m[1]} ${m[2]}, ${m[3]!.length} characters generated, ${m[4]} ${m[5]} threads ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await page.close();
    }
  } catch (e) {
    failures++;
    console.log(`FAIL README quick start: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    if (child) stop(child);
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const apps = only.length ? APPS.filter((a) => only.includes(a.name)) : APPS;
  for (const f of ['dist/index.js', 'dist/types/src/index.d.ts', 'registry/dist/cli.js']) {
    if (!existsSync(path.join(REPO, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(TARBALLS, { recursive: true });

  // 1. The three tarballs.
  let t0 = performance.now();
  run(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'scripts/build-models-package.ts')], REPO);
  const tarballs = { webinfer: pack(REPO), registry: pack(path.join(REPO, 'registry')), models: pack(path.join(REPO, 'models-package')) };
  console.log(`packed ${Object.values(tarballs).map((t) => path.basename(t)).join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 2. The quick start: an empty folder, the three tarballs, `npx webinfer-registry serve --demo`.
  t0 = performance.now();
  const quick = path.join(WORK, 'quickstart');
  mkdirSync(quick, { recursive: true });
  writeFileSync(path.join(quick, 'package.json'), JSON.stringify({ name: 'quickstart', private: true, type: 'module' }));
  run(npm, ['install', '--prefer-offline', tarballs.webinfer, tarballs.registry, tarballs.models], quick);
  const port = await freePort();
  const { match } = await start(path.join(quick, 'node_modules/.bin/webinfer-registry'), ['serve', '--demo', '--port', String(port)], quick, /serving .* at (http:\/\/\S+)/);
  const registry = match[1]!.replace(/\/$/, '');
  const models = (await (await fetch(`${registry}/v1/models.json`)).json()) as { models?: { id: string }[] };
  const ids = (models.models ?? []).map((m) => m.id).sort();
  if (ids.join(',') !== 'emotion,fashion-dcgan,fashion-embed,fashion-mnist-cnn,fashion-vae,langid-lstm,tiny-gpt') throw new Error(`the demo registry lists ${JSON.stringify(models)}`);
  console.log(`ok   quick start: npm install of the three tarballs, webinfer-registry serve --demo at ${registry} (${ids.join(', ')}) ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    if (only.length === 0 || only.includes('readme')) await readmeQuickStart(browser, quick, registry);
    for (const app of apps) {
      t0 = performance.now();
      const dir = path.join(WORK, 'apps', app.name);
      try {
        cpSync(path.join(REPO, 'test/consumers', app.from ?? app.name), dir, { recursive: true });
        mkdirSync(path.join(dir, 'src'), { recursive: true });
        for (const f of readdirSync(path.join(REPO, 'test/consumers/shared'))) cpSync(path.join(REPO, 'test/consumers/shared', f), path.join(dir, 'src', f));
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
        pkg.dependencies = { ...pkg.dependencies, webinfer: `file:${tarballs.webinfer}` };
        writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
        run(npm, ['install', '--prefer-offline'], dir); // with a lockfile: it marks the app's folder as the project root (Parcel)
        const installed = performance.now();
        run(npm, ['run', app.build ?? 'build'], dir);
        const built = performance.now();
        const { url, server } = await serveStatic(path.join(dir, app.serve));
        try {
          const r = await openAndRead(browser, `${url}/?registry=${encodeURIComponent(registry)}`);
          report(`${app.name} build (install ${((installed - t0) / 1000).toFixed(0)} s, build ${((built - installed) / 1000).toFixed(0)} s)`, r, (performance.now() - t0) / 1000);
        } finally {
          server.close();
        }
      } catch (e) {
        failures++;
        console.log(`FAIL ${app.name} build: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      if (app.dev) {
        t0 = performance.now();
        let child: ChildProcess | undefined;
        try {
          const devPort = await freePort();
          const args = app.devArgs?.(devPort) ?? ['--port', String(devPort), '--strictPort', '--host', '127.0.0.1'];
          const started = await start(npm, ['run', 'dev', '--', ...args], dir, new RegExp(`http://127\\.0\\.0\\.1:${devPort}`));
          child = started.child;
          const r = await openAndRead(browser, `http://127.0.0.1:${devPort}/?registry=${encodeURIComponent(registry)}`);
          report(`${app.name} dev server`, r, (performance.now() - t0) / 1000);
        } catch (e) {
          failures++;
          console.log(`FAIL ${app.name} dev server: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          if (child) stop(child);
        }
      }
    }
  } finally {
    await browser.close();
  }
  if (scores.length > 1) {
    const spread = Math.max(...scores.map((s) => s.score)) - Math.min(...scores.map((s) => s.score));
    if (spread > 1e-6) {
      failures++;
      console.log(`FAIL the apps disagree: ${scores.map((s) => `${s.name} ${s.score}`).join(', ')}`);
    } else console.log(`ok   every app gave the same score (spread ${spread.toExponential(1)})`);
  }
}

main()
  .catch((e: unknown) => {
    failures++;
    console.log(`FAIL consumers: ${e instanceof Error ? e.message : String(e)}`);
  })
  .finally(() => {
    for (const c of children) stop(c);
    console.log(failures ? `consumers: ${failures} failure(s)` : 'consumers: ok');
    process.exit(failures ? 1 : 0);
  });
