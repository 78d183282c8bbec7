/** Build-time helpers (Node only) for bundlers that do not copy `new URL(…, import.meta.url)` files: see index.mjs. */
/** The folder of the package's worker chunk, thread scripts and .wasm files. */
export declare const ASSETS_DIR: string;
/** The files a page needs beside its bundle (source maps left out). */
export declare function assetFiles(): string[];
/** Copies webinfer's assets into `<dir>/assets/`; returns the files written. */
export declare function copyAssets(dir: string): string[];
/** esbuild plugin: copies the assets next to the output that starts webinfer's worker. */
export declare function webinferEsbuild(): { name: string; setup(build: unknown): void };
/** Rollup / Rolldown plugin: emits the assets beside the chunk that starts webinfer's worker. */
export declare function webinferRollup(): { name: string; generateBundle(options: unknown, bundle: Record<string, unknown>): void };
