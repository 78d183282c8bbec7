// Builds test/consumer/ — a plain Vite app — against the *packed* webinfer package, the
// way a user gets it from the registry:
//   1. `npm pack` the repo (dist/ must already be built: `npm run build:lib`);
//   2. extract the tarball into test/consumer/node_modules/webinfer/ (fresh each time);
//   3. `vite build` the app (normal app mode, not lib mode) into test/consumer/dist/;
//   4. check that the worker chunk and the three tfjs .wasm files were emitted as assets.
//
// The packed package keeps `comlink` as a bare import (a dependency, external in the
// library build). It is not installed in test/consumer/node_modules: Node-style
// resolution walks up from test/consumer/node_modules/webinfer/ and finds the repo's
// node_modules/comlink, which is what `npm install webinfer` would have put beside it.
//
// Usage: node scripts/build-consumer.mjs   (npm run build:consumer)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONSUMER = path.join(REPO, 'test/consumer');
const PKG_DIR = path.join(CONSUMER, 'node_modules/webinfer');
const OUT = path.join(CONSUMER, 'dist');
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

function fail(message) {
  console.error(`build-consumer: ${message}`);
  process.exit(1);
}

const started = performance.now();
const rel = (p) => path.relative(REPO, p);

// 1. Pack.
if (!existsSync(path.join(REPO, 'dist/index.js'))) {
  fail('dist/index.js is missing: build the package first (`npm run build:lib`, or `npm run build`).');
}
const packDir = mkdtempSync(path.join(tmpdir(), 'webinfer-pack-'));
let tarball;
try {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const info = JSON.parse(out)[0];
  tarball = path.join(packDir, info.filename);
  console.log(`packed ${info.id}: ${info.entryCount} files, ${(info.size / 1024).toFixed(0)} kB → ${tarball}`);

  // 2. Extract, fresh.
  rmSync(PKG_DIR, { recursive: true, force: true });
  mkdirSync(PKG_DIR, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', PKG_DIR, '--strip-components=1'], { stdio: 'inherit' });
} finally {
  rmSync(packDir, { recursive: true, force: true });
}
const packed = JSON.parse(readFileSync(path.join(PKG_DIR, 'package.json'), 'utf8'));
if (!existsSync(path.join(PKG_DIR, 'dist/index.js'))) fail(`the packed package has no dist/index.js (files: ${JSON.stringify(packed.files)})`);
console.log(`extracted webinfer@${packed.version} into ${rel(PKG_DIR)}`);
{
  // The library build keeps old files in dist/ (emptyOutDir: false): say so when stale worker chunks got packed.
  const entry = readFileSync(path.join(PKG_DIR, 'dist/index.js'), 'utf8');
  const stale = readdirSync(path.join(PKG_DIR, 'dist/assets')).filter((f) => /^runtime\.worker-.*\.js(\.map)?$/.test(f) && !entry.includes(f.replace(/\.map$/, '')));
  if (!existsSync(path.join(PKG_DIR, packed.types ?? 'dist/types/src/index.d.ts'))) console.warn(`warning: the package has no type declarations (${packed.types}): run \`npm run build\` for a complete package`);
  if (stale.length) console.warn(`warning: the package ships ${stale.length} files no entry references (stale builds in dist/assets): ${stale.join(', ')}`);
}

// 3. Build the app with Vite, from its own config file.
const { build } = await import('vite');
await build({
  root: CONSUMER,
  configFile: path.join(CONSUMER, 'vite.config.ts'),
  mode: 'production',
  logLevel: 'warn',
  build: { outDir: OUT, emptyOutDir: true },
});

// 4. Verify the emitted assets.
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
if (!existsSync(path.join(OUT, 'index.html'))) fail(`${rel(OUT)}/index.html was not written`);
const files = walk(OUT);
const problems = [];
const found = [];
const workers = files.filter((f) => /runtime\.worker[-.\w]*\.js$/.test(path.basename(f)));
if (workers.length !== 1) problems.push(`expected one worker chunk (runtime.worker-*.js) in ${rel(OUT)}, found ${workers.length}: ${workers.map(rel).join(', ') || 'none'}`);
else found.push(workers[0]);
// Vite names assets `<name>-<8-char hash>.wasm` (the hash may itself contain `-`).
const assetName = (f) => path.basename(f).replace(/-[\w-]{8}(\.\w+)$/, '$1');
for (const wasm of WASM_FILES) {
  const hits = files.filter((f) => assetName(f) === wasm);
  if (hits.length !== 1) problems.push(`expected ${wasm} emitted once in ${rel(OUT)}, found ${hits.length}`);
  else if (!readFileSync(hits[0]).equals(readFileSync(path.join(PKG_DIR, 'dist/assets', wasm)))) problems.push(`${rel(hits[0])} differs from the package's ${wasm}`);
  else found.push(hits[0]);
}
// The WASM thread bootstrap (a real file since issue 11), emitted and referenced by the worker.
const bootstrap = files.filter((f) => /^tfjs-backend-wasm-threaded-simd-[\w-]{8}\.js$/.test(path.basename(f)));
if (bootstrap.length !== 1) problems.push(`expected the thread bootstrap tfjs-backend-wasm-threaded-simd-*.js emitted once in ${rel(OUT)}, found ${bootstrap.length}`);
else if (workers.length === 1 && !readFileSync(workers[0], 'utf8').includes(path.basename(bootstrap[0]))) problems.push(`the worker chunk does not reference ${path.basename(bootstrap[0])}`);
// The emitted worker must reference the emitted wasm files by their emitted names.
if (workers.length === 1) {
  const code = readFileSync(workers[0], 'utf8');
  for (const f of found.slice(1)) {
    if (!code.includes(path.basename(f))) problems.push(`the worker chunk does not reference ${path.basename(f)}`);
  }
}
// …and the app's entry must start that worker.
const entryCode = files.filter((f) => f.endsWith('.js') && !workers.includes(f)).map((f) => readFileSync(f, 'utf8')).join('\n');
if (workers.length === 1 && !entryCode.includes(path.basename(workers[0]))) problems.push(`no app chunk references the worker chunk ${path.basename(workers[0])}`);
if (problems.length) fail(`the consumer build is incomplete:\n  - ${problems.join('\n  - ')}`);

console.log('consumer build OK, emitted:');
for (const f of found) console.log(`  ${rel(f)}  ${(statSync(f).size / 1024).toFixed(1)} kB`);
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
