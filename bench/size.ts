/**
 * 8. Size: raw and gzip bytes of what an app ships — the main-thread entry (alone, and with
 * comlink, its one runtime import, as a bundler would ship it), the worker chunk and the three
 * WASM binaries — read from the library build in dist/. Also checks that the main-thread entry
 * holds no tfjs code.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';
import type { Row, WorkloadResult } from './pages/types.js';

const require = createRequire(import.meta.url);
/** Strings that only tfjs code contains. */
const TFJS_MARKERS = ['@tensorflow', 'registerKernel', 'WASM_HAS_SIMD_SUPPORT', 'tfjs-backend', 'XNNPACK'];

const gz = (b: Buffer): number => gzipSync(b, { level: 9 }).length;

/** The main-thread entry with the chunk it shares with `webinfer/protocol`, as one ESM file (comlink stays external), as an app's bundler would include it. */
function mainBundle(dist: string, minify: boolean): Buffer {
  const r = buildSync({ entryPoints: [path.join(dist, 'index.js')], bundle: true, minify, format: 'esm', target: 'es2022', external: ['comlink'], write: false, logLevel: 'silent' });
  return Buffer.from(r.outputFiles[0]?.contents ?? new Uint8Array());
}

export function measureSizes(dist: string): WorkloadResult {
  const main = mainBundle(dist, false);
  const assets = path.join(dist, 'assets');
  const worker = readdirSync(assets).find((f) => /^runtime\.worker-[\w-]+\.js$/.test(f));
  if (!worker) throw new Error(`no worker chunk in ${assets}: run the library build (vite build)`);
  const comlink = readFileSync(require.resolve('comlink/dist/esm/comlink.min.mjs'));
  const workerBytes = readFileSync(path.join(assets, worker));
  const rows: Row[] = [];
  const add = (id: string, label: string, buf: Buffer) => {
    rows.push({ id: `${id}.raw`, label: `${label}, raw`, unit: 'bytes', median: buf.length });
    rows.push({ id: `${id}.gzip`, label: `${label}, gzip -9`, unit: 'bytes', median: gz(buf) });
  };
  add('size.main', 'main-thread entry (dist/index.js and the chunk it shares with webinfer/protocol)', main);
  add('size.main-with-comlink', 'main-thread entry + comlink (minified)', Buffer.concat([main, comlink]));
  // What an app's production build ships: our entry minified (esbuild) + comlink's minified build.
  const mainMin = mainBundle(dist, true);
  add('size.main-min', 'main-thread entry, minified (esbuild)', mainMin);
  add('size.main-min-with-comlink', 'main-thread entry minified + comlink minified', Buffer.concat([mainMin, comlink]));
  add('size.worker', `worker chunk (${worker})`, workerBytes);
  for (const f of readdirSync(assets).filter((x) => x.endsWith('.wasm')).sort()) {
    rows.push({ id: `size.wasm.${f}`, label: f, unit: 'bytes', median: statSync(path.join(assets, f)).size });
  }
  const text = main.toString('utf8');
  const found = TFJS_MARKERS.filter((m) => text.includes(m));
  rows.push({ id: 'size.main.tfjs-free', label: 'main-thread entry contains no tfjs (1 = true)', unit: 'bool', median: found.length === 0 ? 1 : 0, ...(found.length ? { note: `found: ${found.join(', ')}` } : {}) });
  return {
    title: 'Size: what an app ships (library build, dist/)',
    rows,
    notes: [
      'dist/index.js is shipped unminified (readable stack traces; an app bundler minifies it). comlink is external to our entry (a dependency the app bundles once).',
      'The target (≤ 15 kB gzip) is checked on what the production build of an app ships for the main thread: our entry minified + comlink minified, gzip -9.',
    ],
  };
}
