/** Fixtures of the worker-runtime tests: a registry service with tiny-cnn and tiny-gpt, a CPU init request, a fake backend selector. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publish } from '../../../registry/src/publish.js';
import { startRegistryServer, type RunningRegistry } from '../../../registry/src/server/serve.js';
import { BackendUnavailableError } from '../../../src/shared/errors/backend-unavailable.js';
import type { BackendInfo, BackendName } from '../../../src/shared/types.js';
import type { InitRequest } from '../../../src/shared/wire.js';
import type { SelectOptions } from '../../../workers/backend.js';
import type { SelectBackend } from '../../../workers/session.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Fixture {
  readonly url: string;
  close(): Promise<void>;
}

/** tiny-cnn 1.0.0 and tiny-gpt 1.0.0 in a fresh root, served by the registry service. */
export async function registryWithModels(): Promise<Fixture> {
  const root = await mkdtemp(path.join(tmpdir(), 'webinfer-runtime-'));
  const card = (dir: string) => readFile(path.join(repo, 'models', dir, 'card.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>);
  await publish({ root, modelDir: path.join(repo, 'models/tiny-cnn'), id: 'tiny-cnn', version: '1.0.0', aliases: ['stable'], card: await card('tiny-cnn') });
  await publish({ root, modelDir: path.join(repo, 'models/tiny-gpt'), id: 'tiny-gpt', version: '1.0.0', aliases: ['stable'], card: await card('tiny-gpt') });
  const server: RunningRegistry = await startRegistryServer({ root, port: 0, log: () => undefined, defaultMetrics: false });
  return {
    url: server.url,
    close: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** An init request for a runtime on tfjs's CPU backend. */
export function initRequest(registry: string, over: Partial<InitRequest> = {}): InitRequest {
  return { registry, backend: 'cpu', allowSoftwareWebGPU: false, wasmThreads: 0, cacheName: 'test', retries: 0, requestTimeoutMs: 10_000, maxBatch: 64, debug: true, ...over };
}

/**
 * A backend selector that plays WebGPU on tfjs's CPU backend: the first choice is called
 * `webgpu` (unless WebGPU is excluded), and `loseDevice()` fires the session's device-lost
 * callback as a real lost device would. `failNext` makes the next choice throw.
 */
export function fakeWebGPU(): { select: SelectBackend; loseDevice(reason?: string): void; choices: SelectOptions[]; failNext: boolean } {
  let onLost: ((reason: string) => void) | undefined;
  const state = {
    choices: [] as SelectOptions[],
    failNext: false,
    select: async (opts: SelectOptions, fallbacks: BackendInfo['fallbacks']): Promise<BackendInfo> => {
      state.choices.push(opts);
      if (state.failNext) {
        state.failNext = false;
        throw new BackendUnavailableError('no adapter', { backend: opts.preference, reason: 'no adapter' });
      }
      await tf.setBackend('cpu');
      const name: BackendName = opts.exclude?.has('webgpu') || opts.preference === 'cpu' ? 'cpu' : 'webgpu';
      onLost = name === 'webgpu' ? opts.onDeviceLost : undefined;
      return { name, reason: `fake ${name}`, simd: false, threads: false, threadCount: 1, crossOriginIsolated: false, rejected: [], selfTest: { ms: 0, maxError: 0 }, fallbacks };
    },
    loseDevice: (reason = 'WebGPU device lost (destroyed): test') => onLost?.(reason),
  };
  return state;
}

/** The same deterministic picture as `util.pattern` in the browser test pages. */
export { pattern, tinyCnnReference } from '../../e2e/reference.js';
