/** The engine in Node: its binaries from disk, and helper threads as worker_threads. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EngineSources, SpawnThread } from '../../../workers/engine/engine.js';

const wasm = path.resolve(import.meta.dirname, '../../../workers/engine/wasm');

export function engineSources(): EngineSources {
  const bytes = (v: string): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(path.join(wasm, `${v}.wasm`)));
  return { 'engine-st': bytes('engine-st'), 'engine-st-rx': bytes('engine-st-rx'), 'engine-mt': bytes('engine-mt'), 'engine-mt-rx': bytes('engine-mt-rx') };
}

/** A helper thread as a Node worker: the same steps as workers/engine/thread.ts. */
const THREAD = `
const { parentPort } = require('node:worker_threads');
parentPort.once('message', async ({ module, memory, ctl, tid, stackTop }) => {
  try {
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    instance.exports.__stack_pointer.value = stackTop;
    parentPort.postMessage({ ready: true });
    instance.exports.wi_thread(ctl, tid);
  } catch (e) {
    parentPort.postMessage({ error: String(e) });
  }
});`;

export const nodeThreads: SpawnThread = (init) =>
  new Promise((resolve, reject) => {
    const w = new Worker(THREAD, { eval: true });
    w.once('message', (m: { ready?: boolean; error?: string }) => {
      // Once it computes, the thread must not keep Node's event loop alive on its own.
      w.unref();
      if (m.ready) resolve({ terminate: () => void w.terminate() });
      else reject(new Error(m.error));
    });
    w.once('error', reject);
    w.postMessage(init);
  });
