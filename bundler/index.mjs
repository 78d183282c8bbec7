/**
 * Build-time helpers for bundlers that do not copy the files webinfer references with
 * `new URL('./assets/…', import.meta.url)` (esbuild, Rollup). Node only: import this from a build
 * config, never from app code. Vite, webpack 5, Parcel and Next.js copy the files themselves.
 *
 * @example esbuild
 * import { webinferEsbuild } from 'webinfer/bundler';
 * await esbuild.build({ entryPoints: ['src/main.js'], bundle: true, format: 'esm', outdir: 'dist', plugins: [webinferEsbuild()] });
 *
 * @example Rollup
 * import { webinferRollup } from 'webinfer/bundler';
 * export default { input: 'src/main.js', output: { dir: 'dist', format: 'es' }, plugins: [nodeResolve({ browser: true }), webinferRollup()] };
 *
 * @example Any other tool: `npx webinfer-copy-assets dist` after the build (the folder that holds the bundle).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the package's worker chunk, thread scripts and .wasm files. */
export const ASSETS_DIR = fileURLToPath(new URL('../dist/assets/', import.meta.url));
/** What a bundle that contains webinfer's main-thread code references (dist/index.js starts the worker from it). */
const MARKER = /new URL\(\s*["']\.\/assets\/runtime\.worker-[\w-]+\.js["']\s*,\s*import\.meta\.url\s*\)/;

/** The files a page needs beside its bundle (source maps left out). */
export function assetFiles() {
  if (!existsSync(ASSETS_DIR)) throw new Error(`webinfer: ${ASSETS_DIR} is missing (a broken install?)`);
  return readdirSync(ASSETS_DIR).filter((f) => !f.endsWith('.map'));
}

/**
 * Copies webinfer's assets into `<dir>/assets/`, where the bundle in `dir` looks for them.
 * @param {string} dir the folder that holds the bundle which includes webinfer
 * @returns {string[]} the files copied (absolute paths)
 */
export function copyAssets(dir) {
  const target = path.join(path.resolve(dir), 'assets');
  mkdirSync(target, { recursive: true });
  return assetFiles().map((f) => {
    copyFileSync(path.join(ASSETS_DIR, f), path.join(target, f));
    return path.join(target, f);
  });
}

/**
 * esbuild plugin: after each successful build, copies the assets next to every output file that starts
 * webinfer's worker (or into `outdir` / the `outfile`'s folder when esbuild wrote nothing to disk).
 * @returns {{ name: string, setup(build: any): void }}
 */
export function webinferEsbuild() {
  return {
    name: 'webinfer-assets',
    setup(build) {
      build.onEnd((result) => {
        if (result.errors.length) return;
        const o = build.initialOptions;
        if (o.write === false) return;
        const dirs = new Set();
        for (const out of Object.keys(result.metafile?.outputs ?? {})) {
          if (out.endsWith('.js') && existsSync(out) && MARKER.test(readFileSync(out, 'utf8'))) dirs.add(path.dirname(path.resolve(o.absWorkingDir ?? process.cwd(), out)));
        }
        if (dirs.size === 0) dirs.add(path.resolve(o.absWorkingDir ?? process.cwd(), o.outdir ?? (o.outfile ? path.dirname(o.outfile) : '.')));
        for (const d of dirs) copyAssets(d);
      });
    },
  };
}

/**
 * Rollup (and Rolldown) plugin: emits the assets beside every chunk that starts webinfer's worker, so they
 * land in the output folder with the bundle.
 * @returns {{ name: string, generateBundle(options: unknown, bundle: Record<string, any>): void }}
 */
export function webinferRollup() {
  return {
    name: 'webinfer-assets',
    generateBundle(_options, bundle) {
      const dirs = new Set();
      for (const chunk of Object.values(bundle)) if (chunk.type === 'chunk' && MARKER.test(chunk.code)) dirs.add(path.posix.dirname(chunk.fileName));
      for (const d of dirs) {
        for (const f of assetFiles()) this.emitFile({ type: 'asset', fileName: path.posix.join(d, 'assets', f), source: readFileSync(path.join(ASSETS_DIR, f)) });
      }
    },
  };
}
