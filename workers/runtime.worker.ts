/**
 * The inference worker's entry: the runtime (tfjs, the backend session, the model table)
 * exposed over comlink with the types of `src/shared/wire.ts`.
 */
import * as Comlink from 'comlink';
import { createWorkerApi } from './api.js';
import { Runtime } from './runtime.js';
import { ENGINE_SOURCES } from './engine/sources.js';
import { DEFAULT_WASM_PATHS } from './wasm-paths.js';

function crash(mode: 'throw' | 'close'): void {
  if (mode === 'close') self.close();
  else
    setTimeout(() => {
      throw new Error('webinfer debug crash');
    }, 0);
}

Comlink.expose(createWorkerApi(new Runtime({ wasmPaths: DEFAULT_WASM_PATHS, engineSources: ENGINE_SOURCES }), { crash }));
