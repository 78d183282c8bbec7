#!/usr/bin/env node
/**
 * `npm run check:package` (a step of `npm test`, after the build): the two packages as users get them.
 *
 *  1. `vite build` alone (what `npm run bench` runs) keeps `dist/types`: the declarations survive it.
 *  2. `npm pack` on a copy of the working tree without `dist/` (a clean clone) runs `prepack`
 *     and packs the types and the protocol entry; the registry package packs its CLI.
 *  3. The packed `webinfer` declares comlink and valibot as its only dependencies and holds no
 *     registry or Node code; `@webinfer/registry` holds the CLI, executable.
 *  4. Both tarballs install into an empty folder: the production tree of `webinfer` is comlink +
 *     valibot, `npx webinfer-registry --help` works, and an app importing `webinfer` and
 *     `webinfer/protocol` bundles for the browser with no Node module (esbuild, platform browser).
 *
 * Prints one line per check and exits non-zero on the first failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tmp = mkdtempSync(path.join(tmpdir(), 'webinfer-package-'));
let failures = 0;

function check(name, fn) {
  const t0 = performance.now();
  try {
    const detail = fn();
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
/**
 * Free Node globals in a script, by esbuild's scope analysis (each name is `define`d to a marker, which esbuild
 * substitutes only for free references); the same scan as scripts/tfjs-glue.ts `freeNodeGlobals`.
 */
const NODE_GLOBALS = ['process', '__filename', '__dirname', 'require', 'module', 'exports', 'global', 'Buffer'];
async function loadScanner() {
  const { transformSync } = await import('esbuild');
  return (code) => {
    const out = transformSync(code, { define: Object.fromEntries(NODE_GLOBALS.map((n) => [n, `__WEBINFER_FREE_${n}__`])), loader: 'js', charset: 'utf8', legalComments: 'none' }).code;
    return NODE_GLOBALS.filter((n) => out.includes(`__WEBINFER_FREE_${n}__`));
  };
}
const freeNodeGlobals = await loadScanner();
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
/** `npm pack --json`; lifecycle scripts (prepack) print to the same stdout, so the JSON is the last top-level array. */
const pack = (cwd, dest) => {
  const out = sh(npm, ['pack', '--json', '--pack-destination', dest], { cwd });
  const at = out.lastIndexOf('\n[') === -1 ? out.indexOf('[') : out.lastIndexOf('\n[') + 1;
  return JSON.parse(out.slice(at))[0];
};

try {
  check('vite build alone keeps dist/types (bench rebuilds the library)', () => {
    const types = path.join(REPO, 'dist/types/src/index.d.ts');
    if (!existsSync(types)) throw new Error('dist/types/src/index.d.ts is missing before the check: run `npm run build` first');
    sh(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], { cwd: REPO });
    if (!existsSync(types)) throw new Error('`vite build` deleted dist/types');
    return 'dist/types/src/index.d.ts still there';
  });

  const tarballs = path.join(tmp, 'tarballs');
  mkdirSync(tarballs);
  let webinfer;
  let registry;
  check('npm pack on a clean copy (no dist/) runs prepack and packs types, protocol and worker', () => {
    const clean = path.join(tmp, 'clean');
    const files = sh('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO }).split('\0').filter(Boolean);
    for (const f of files) {
      if (!existsSync(path.join(REPO, f))) continue; // deleted in the working tree
      mkdirSync(path.dirname(path.join(clean, f)), { recursive: true });
      cpSync(path.join(REPO, f), path.join(clean, f));
    }
    symlinkSync(path.join(REPO, 'node_modules'), path.join(clean, 'node_modules'));
    webinfer = pack(clean, tarballs);
    const names = new Set(webinfer.files.map((f) => f.path));
    const need = ['dist/index.js', 'dist/protocol.js', 'dist/types/src/index.d.ts', 'dist/types/src/shared/registry/index.d.ts', 'dist/assets/tfjs-backend-wasm-simd.wasm'];
    const missing = need.filter((f) => !names.has(f));
    if (!webinfer.files.some((f) => /^dist\/assets\/runtime\.worker-[\w-]+\.js$/.test(f.path))) missing.push('dist/assets/runtime.worker-*.js');
    if (missing.length) throw new Error(`the packed webinfer lacks ${missing.join(', ')}`);
    const stray = webinfer.files.map((f) => f.path).filter((f) => /^(registry|src|workers|test|scripts)\//.test(f) || /\/node\//.test(f));
    if (stray.length) throw new Error(`the packed webinfer ships ${stray.slice(0, 5).join(', ')}`);
    registry = pack(path.join(clean, 'registry'), tarballs);
    const rnames = new Set(registry.files.map((f) => f.path));
    for (const f of ['dist/cli.js', 'dist/index.js', 'dist/index.d.ts', 'README.md']) if (!rnames.has(f)) throw new Error(`the packed @webinfer/registry lacks ${f}`);
    return `webinfer ${webinfer.entryCount} files ${(webinfer.size / 1024).toFixed(0)} kB, @webinfer/registry ${registry.entryCount} files ${(registry.size / 1024).toFixed(0)} kB`;
  });

  check('the packed worker chunk has no free Node global; the WASM thread bootstrap ships as a file', () => {
    if (!webinfer) throw new Error('no tarball');
    const x = path.join(tmp, 'x');
    mkdirSync(x);
    sh('tar', ['-xzf', path.join(tarballs, webinfer.filename), '-C', x]);
    const assets = path.join(x, 'package/dist/assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    const bad = [];
    for (const f of [...js.map((j) => path.join(assets, j)), path.join(x, 'package/dist/index.js'), path.join(x, 'package/dist/protocol.js')]) {
      const found = freeNodeGlobals(readFileSync(f, 'utf8'));
      if (found.length) bad.push(`${path.basename(f)}: ${found.join(', ')}`);
    }
    if (bad.length) throw new Error(`free Node globals left: ${bad.join('; ')}`);
    if (!js.includes('tfjs-backend-wasm-threaded-simd.js')) throw new Error('dist/assets/tfjs-backend-wasm-threaded-simd.js is missing');
    const worker = js.find((f) => /^runtime\.worker-[\w-]+\.js$/.test(f));
    const code = readFileSync(path.join(assets, worker), 'utf8');
    if (!code.includes('new URL("./tfjs-backend-wasm-threaded-simd.js", import.meta.url)')) throw new Error('the worker does not reference the thread bootstrap as new URL("./tfjs-backend-wasm-threaded-simd.js", import.meta.url)');
    return `${js.length} scripts scanned`;
  });

  check('webinfer depends on comlink and valibot only; the registry tools moved to @webinfer/registry', () => {
    if (!webinfer || !registry) throw new Error('no tarballs');
    const pkg = JSON.parse(sh('tar', ['-xOzf', path.join(tarballs, webinfer.filename), 'package/package.json']));
    const deps = Object.keys(pkg.dependencies ?? {}).sort();
    if (deps.join(',') !== 'comlink,valibot') throw new Error(`dependencies are ${deps.join(', ')}`);
    if (JSON.stringify(pkg.bin) !== JSON.stringify({ 'webinfer-copy-assets': './bundler/copy-assets.mjs' })) throw new Error(`webinfer declares bin ${JSON.stringify(pkg.bin)} (expected only webinfer-copy-assets)`);
    const rpkg = JSON.parse(sh('tar', ['-xOzf', path.join(tarballs, registry.filename), 'package/package.json']));
    for (const d of ['hono', '@hono/node-server', 'commander', 'prom-client', 'webinfer']) if (!rpkg.dependencies?.[d]) throw new Error(`@webinfer/registry does not depend on ${d}`);
    return `webinfer: ${deps.join(', ')}`;
  });

  check('publint --strict and @arethetypeswrong/cli (profile esm-only) pass on both tarballs', () => {
    if (!webinfer || !registry) throw new Error('no tarballs');
    const bin = (n) => path.join(REPO, 'node_modules/.bin', n);
    const out = [];
    for (const t of [webinfer, registry]) {
      const file = path.join(tarballs, t.filename);
      const p = spawnSync(bin('publint'), ['run', file, '--strict'], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`publint ${t.filename}: ${(p.stdout + p.stderr).trim().split('\n').slice(-6).join(' | ')}`);
      const a = spawnSync(bin('attw'), [file, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji'], { encoding: 'utf8' });
      if (a.status !== 0) throw new Error(`attw ${t.filename}: ${(a.stdout + a.stderr).trim().split('\n').slice(-8).join(' | ')}`);
      out.push(t.filename);
    }
    return out.join(', ');
  });

  const app = path.join(tmp, 'app');
  check('both tarballs install into an empty folder; production tree of webinfer is comlink + valibot', () => {
    if (!webinfer || !registry) throw new Error('no tarballs');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', path.join(tarballs, webinfer.filename), path.join(tarballs, registry.filename)], { cwd: app, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm install failed: ${r.stderr.split('\n').slice(-5).join(' ')}`);
    const tree = JSON.parse(sh(npm, ['ls', '--all', '--omit=dev', '--json'], { cwd: app }));
    const names = new Set();
    // An optional peer that is not installed (valibot's typescript) shows as an empty entry: not in the tree.
    const walk = (deps) => Object.entries(deps ?? {}).forEach(([n, d]) => d.version && (names.add(n), walk(d.dependencies)));
    walk(tree.dependencies?.webinfer?.dependencies);
    const list = [...names].sort().join(',');
    if (list !== 'comlink,valibot') throw new Error(`webinfer's production tree is ${list}`);
    return list;
  });

  check('npx webinfer-registry --help works from the installed tarball', () => {
    const cli = path.join(app, 'node_modules/@webinfer/registry/dist/cli.js');
    if (!(statSync(cli).mode & 0o111)) throw new Error('dist/cli.js is not executable');
    const out = sh('npx', ['--no-install', 'webinfer-registry', '--help'], { cwd: app });
    if (!/Usage: webinfer-registry/.test(out) || !/publish/.test(out)) throw new Error(`unexpected help: ${out.slice(0, 200)}`);
    return out.split('\n')[0];
  });

  check('the published types hide the test hooks (client.debug, debug option, debugLogits) and type-check an app', () => {
    const tsc = path.join(REPO, 'node_modules/typescript/bin/tsc');
    const opts = ['--noEmit', '--strict', '--module', 'esnext', '--moduleResolution', 'bundler', '--target', 'es2022', '--lib', 'es2022,dom', '--skipLibCheck', 'false'];
    writeFileSync(path.join(app, 'ok.ts'), "import { createClient } from 'webinfer';\nconst client = createClient({ registry: 'https://example.org/registry' });\nexport const run = async (): Promise<string> => (await client.classify('fashion-mnist-cnn@stable', { data: new Uint8ClampedArray(784), width: 28, height: 28, channels: 1 }))[0]?.label ?? '';\n");
    const ok = spawnSync(process.execPath, [tsc, ...opts, 'ok.ts'], { cwd: app, encoding: 'utf8' });
    if (ok.status !== 0) throw new Error(`an app using the public API does not type-check: ${ok.stdout.trim().split('\n').slice(0, 5).join(' | ')}`);
    writeFileSync(path.join(app, 'hooks.ts'), "import { createClient } from 'webinfer';\nconst client = createClient({ registry: 'https://example.org/registry', debug: true });\nclient.debug.crashWorker();\nexport const f = async () => (await client.load('tiny-gpt', { task: 'text-generation' })).debugLogits([1]);\n");
    const bad = spawnSync(process.execPath, [tsc, ...opts, 'hooks.ts'], { cwd: app, encoding: 'utf8' });
    const codes = [...bad.stdout.matchAll(/hooks\.ts\((\d+),\d+\): error (TS\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
    const want = ['2:TS2353', '3:TS2339', '4:TS2339'];
    if (codes.join(',') !== want.join(',')) throw new Error(`expected ${want.join(', ')} (debug hidden), got ${codes.join(', ') || 'no error'}: ${bad.stdout.trim().split('\n').slice(0, 4).join(' | ')}`);
    return 'debug, debugLogits: not in the types';
  });

  check('an app importing webinfer and webinfer/protocol bundles for the browser with no Node module', () => {
    writeFileSync(path.join(app, 'main.js'), "import { createClient } from 'webinfer';\nimport { parseRef, check, Manifest } from 'webinfer/protocol';\nconsole.log(createClient, parseRef, check, Manifest);\n");
    const esbuild = path.join(REPO, 'node_modules/esbuild/bin/esbuild');
    const meta = path.join(app, 'meta.json');
    sh(esbuild, ['main.js', '--bundle', '--platform=browser', '--format=esm', '--outfile=out.js', `--metafile=${meta}`, '--log-level=error'], { cwd: app });
    const inputs = Object.keys(JSON.parse(readFileSync(meta, 'utf8')).inputs);
    const packages = [...new Set(inputs.map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(i)?.[1]).filter(Boolean))].sort();
    if (packages.join(',') !== 'comlink,valibot,webinfer') throw new Error(`the bundle pulls ${packages.join(', ')}`);
    return `${inputs.length} modules from ${packages.join(', ')}`;
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (failures) {
  console.log(`check-package: ${failures} check(s) failed`);
  process.exit(1);
}
console.log('check-package: ok');
