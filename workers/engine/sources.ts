/**
 * Where the engine's binaries are, found the way `../wasm-paths.ts` finds tfjs's: `?url` imports
 * that the Vite dev server serves and that the library build emits next to the worker chunk as
 * `new URL('./engine-….wasm', import.meta.url)` (the `webinfer:wasm-assets` plugin).
 */
import st from './wasm/engine-st.wasm?url';
import stRx from './wasm/engine-st-rx.wasm?url';
import mt from './wasm/engine-mt.wasm?url';
import mtRx from './wasm/engine-mt-rx.wasm?url';
import type { EngineSources } from './engine.js';

export const ENGINE_SOURCES: EngineSources = { 'engine-st': st, 'engine-st-rx': stRx, 'engine-mt': mt, 'engine-mt-rx': mtRx };
