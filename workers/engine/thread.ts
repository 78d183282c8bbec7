/**
 * A helper thread of the engine: instantiates the engine module over the shared memory, takes
 * its own stack, says it is ready, and then runs `wi_thread(ctl, tid)`, which takes its share of
 * every job until the engine exits. Its event loop stays blocked from then on: it only computes.
 */
import type { ThreadInit } from './engine.js';

interface ThreadExports {
  readonly wi_thread: (ctl: number, tid: number) => void;
  readonly __stack_pointer: WebAssembly.Global;
}

self.onmessage = async (e: MessageEvent<ThreadInit>) => {
  const { module, memory, ctl, tid, stackTop } = e.data;
  try {
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const exports = instance.exports as unknown as ThreadExports;
    exports.__stack_pointer.value = stackTop;
    self.postMessage({ ready: true });
    exports.wi_thread(ctl, tid);
  } catch (err) {
    self.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
};
