/**
 * ONNX Runtime Web (WASM execution provider), loaded the way its docs suggest for a page:
 * the unmodified `ort.wasm.min.mjs` from its dist/ folder (served by the runner), so its own
 * thread workers and `.wasm` files resolve next to it. Not bundled: Vite would rewrite paths that
 * ORT's pthread workers rely on.
 */
import type * as Ort from 'onnxruntime-web';

let loaded: Promise<typeof Ort> | undefined;

/** The `ort` namespace, configured once per page for `threads` WASM threads. */
export function loadOrt(base: string, threads: number): Promise<typeof Ort> {
  loaded ??= (async () => {
    const ort = (await import(/* @vite-ignore */ `${base}ort.wasm.min.mjs`)) as typeof Ort;
    ort.env.wasm.wasmPaths = base;
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    return ort;
  })();
  return loaded;
}

/** A session on the WASM EP with all graph optimisations (ORT's default level for web is 'all'). */
export async function ortSession(base: string, threads: number, modelUrl: string): Promise<{ ort: typeof Ort; session: Ort.InferenceSession }> {
  const ort = await loadOrt(base, threads);
  const session = await ort.InferenceSession.create(modelUrl, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return { ort, session };
}
