/**
 * The worker runtime in Node, on tfjs's CPU backend, against a real registry service: init,
 * load, dispatch through the task table, per-call outcomes and errors, cancellation, unload,
 * memory, and the backend session's device-loss recovery (with a selector that plays WebGPU).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSerializedError, type SerializedError } from '../../src/shared/errors/serialize.js';
import type { BackendInfo, GenerateChunk, Prediction } from '../../src/shared/types.js';
import type { CallRequest, CallResponse } from '../../src/shared/wire.js';
import { createWorkerApi } from '../../workers/api.js';
import { Runtime } from '../../workers/runtime.js';
import { BackendSession } from '../../workers/session.js';
import { checkGenerateOptions } from '../../src/handles/generate-options.js';
import { fakeWebGPU, initRequest, pattern, registryWithModels, tinyCnnReference, type Fixture } from './helpers/runtime.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await registryWithModels();
});
afterAll(async () => fx?.close());

let callId = 1;
const gray = (seed = 1) => ({ kind: 'pixels' as const, data: pattern(28, 28, 1, seed), width: 28, height: 28, channels: 1 as const });
const classifyReq = (handle: number, images: ReturnType<typeof gray>[], topK = 10): CallRequest<'image-classification.classify'> => ({
  op: 'image-classification.classify',
  handle,
  items: images.map((image) => ({ callId: callId++, input: { image, topK } })),
  more: false,
});
const errorOf = (o: { ok: boolean; error?: unknown }): SerializedError => {
  if (o.ok || !isSerializedError(o.error)) throw new Error(`expected a serialized error, got ${JSON.stringify(o)}`);
  return o.error;
};
const values = <R>(res: CallResponse<'image-classification.classify'> | CallResponse<'text-generation.generate'>): R[] => res.outcomes.map((o) => (o.ok ? (o.value as R) : (() => { throw new Error(JSON.stringify(o.error)); })()));

describe('Runtime on tfjs-cpu', () => {
  it('init chooses the asked-for backend once, and says why', async () => {
    const rt = new Runtime();
    const a = await rt.init(initRequest(fx.url));
    const b = await rt.init(initRequest(fx.url, { backend: 'wasm' }));
    expect(a.name).toBe('cpu');
    expect(a.reason).toMatch(/CPU backend/);
    expect(b).toBe(a);
    expect(rt.backend()).toBe(a);
  });

  it('loads tiny-cnn through the task table and classifies like plain tfjs; a batch of three is three outcomes', async () => {
    const rt = new Runtime();
    await rt.init(initRequest(fx.url));
    const info = await rt.load({ callId: callId++, handle: 1, ref: 'tiny-cnn@stable', task: 'image-classification' });
    expect(info).toMatchObject({ id: 'tiny-cnn', version: '1.0.0', task: 'image-classification', format: 'tfjs-layers', backend: 'cpu' });
    const expected = await tinyCnnReference(pattern(28, 28, 1), 1);
    const [top] = values<Prediction[]>(await rt.call(classifyReq(1, [gray()])));
    expect(top).toHaveLength(10);
    for (const p of top!) expect(p.score).toBeCloseTo(expected[p.index]!, 5);
    const three = values<Prediction[]>(await rt.call(classifyReq(1, [gray(1), gray(2), gray(3)], 1)));
    expect(three).toHaveLength(3);
    expect(three[0]).toEqual([top![0]]);
    expect(rt.batchStats()).toMatchObject({ messages: 2, images: 4, largest: 3 });
  });

  it('a bad call fails alone with a serialized InvalidInputError; the others in its message succeed', async () => {
    const rt = new Runtime();
    await rt.init(initRequest(fx.url));
    await rt.load({ callId: callId++, handle: 1, ref: 'tiny-cnn' });
    const bad = { ...gray(), data: new Uint8Array(5) };
    const res = await rt.call(classifyReq(1, [gray(), bad, gray(2)], 1));
    expect(res.outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(errorOf(res.outcomes[1]!)).toMatchObject({ name: 'InvalidInputError', fields: { reason: 'bad-length', field: 'data' } });
  });

  it("an operation of another task is a TaskMismatchError; an unknown or unloaded handle is ModelDisposedError; unload frees the model's tensors", async () => {
    const rt = new Runtime();
    await rt.init(initRequest(fx.url));
    const before = tf.memory().numTensors;
    await rt.load({ callId: callId++, handle: 7, ref: 'tiny-cnn' });
    expect(rt.memory().models).toBe(1);
    const gen: CallRequest<'text-generation.generate'> = { op: 'text-generation.generate', handle: 7, items: [{ callId: callId++, input: { prompt: 'x', options: checkGenerateOptions() } }], more: false };
    await expect(rt.call(gen)).rejects.toMatchObject({ name: 'TaskMismatchError' });
    await expect(rt.call(classifyReq(99, [gray()]))).rejects.toMatchObject({ name: 'ModelDisposedError' });
    rt.unload(7);
    await expect(rt.call(classifyReq(7, [gray()]))).rejects.toMatchObject({ name: 'ModelDisposedError' });
    expect(rt.memory()).toMatchObject({ models: 0, numTensors: before });
  });

  it('a load for the wrong task is a TaskMismatchError; a missing model is ModelNotFoundError; abort(callId) stops a load with AbortError', async () => {
    const rt = new Runtime();
    await rt.init(initRequest(fx.url));
    await expect(rt.load({ callId: callId++, handle: 1, ref: 'tiny-cnn', task: 'text-generation' })).rejects.toMatchObject({ name: 'TaskMismatchError', expected: 'text-generation', actual: 'image-classification' });
    await expect(rt.load({ callId: callId++, handle: 1, ref: 'nope' })).rejects.toMatchObject({ name: 'ModelNotFoundError' });
    const id = callId++;
    const p = rt.load({ callId: id, handle: 2, ref: 'tiny-gpt' });
    rt.abort(id);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(rt.memory().models).toBe(0);
  });

  it('generate streams chunks to the sink before it answers, and the chunks make the text', async () => {
    const rt = new Runtime();
    await rt.init(initRequest(fx.url));
    await rt.load({ callId: callId++, handle: 3, ref: 'tiny-gpt', task: 'text-generation' });
    const chunks: GenerateChunk[] = [];
    const res = await rt.call(
      { op: 'text-generation.generate', handle: 3, items: [{ callId: callId++, input: { prompt: 'Love is', options: checkGenerateOptions({ temperature: 0, maxTokens: 12, stopAtEos: false, streamTokens: 4, streamMs: 0 }) } }], more: false },
      (c) => void chunks.push(...c),
    );
    const [result] = res.outcomes;
    if (!result?.ok) throw new Error(JSON.stringify(result));
    expect(result.value.tokens).toHaveLength(12);
    expect(chunks.map((c) => c.text).join('')).toBe(result.value.text);
    expect(result.value).toMatchObject({ finishReason: 'length', backend: 'cpu', messages: 4 });
  });

  it('every method of the worker API rejects with a SerializedError (our class rebuilt on the main thread), never a raw error', async () => {
    const api = createWorkerApi(new Runtime(), { crash: () => undefined });
    const before = await api.load({ callId: 1, handle: 1, ref: 'tiny-cnn' }).catch((e: unknown) => e);
    expect(isSerializedError(before)).toBe(true);
    expect(before).toMatchObject({ name: 'WebInferError', message: 'worker used before init()' });
    await api.init(initRequest(fx.url));
    const missing = await api.load({ callId: 2, handle: 1, ref: 'nope@1.0.0' }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ __webinfer: 1, name: 'ModelNotFoundError', fields: { model: 'nope', version: '1.0.0' } });
    expect(await api.ping()).toBe('pong');
  });
});

describe('BackendSession: a lost device', () => {
  it('auto: moves off WebGPU, rebuilds every model, pushes the new backend, and the interrupted run is retried once', async () => {
    const fake = fakeWebGPU();
    const pushed: BackendInfo[] = [];
    const rt = new Runtime({ selectBackend: fake.select });
    expect((await rt.init(initRequest(fx.url, { backend: 'auto' }), (b) => void pushed.push(b))).name).toBe('webgpu');
    await rt.load({ callId: callId++, handle: 1, ref: 'tiny-cnn' });
    const [before] = values<Prediction[]>(await rt.call(classifyReq(1, [gray()])));
    fake.loseDevice();
    const [after] = values<Prediction[]>(await rt.call(classifyReq(1, [gray()])));
    expect(after).toEqual(before);
    expect(rt.backend().name).toBe('cpu');
    expect(rt.backend().fallbacks).toEqual([{ from: 'webgpu', to: 'cpu', reason: 'WebGPU device lost (destroyed): test' }]);
    expect(pushed.map((b) => b.name)).toEqual(['cpu']);
    expect(fake.choices[1]?.exclude?.has('webgpu')).toBe(true);
  });

  it('forced webgpu: never another backend; a new WebGPU device, or BackendUnavailableError when none can be had', async () => {
    const fake = fakeWebGPU();
    const pushed: BackendInfo[] = [];
    const rt = new Runtime({ selectBackend: fake.select });
    await rt.init(initRequest(fx.url, { backend: 'webgpu' }), (b) => void pushed.push(b));
    await rt.load({ callId: callId++, handle: 1, ref: 'tiny-cnn' });
    fake.loseDevice();
    const res = await rt.call(classifyReq(1, [gray()]));
    expect(res.outcomes[0]?.ok).toBe(true);
    expect(rt.backend().name).toBe('webgpu');
    expect(rt.backend().fallbacks[0]).toMatchObject({ from: 'webgpu', to: 'webgpu' });
    expect(pushed.map((b) => b.name)).toEqual(['webgpu']);
    fake.failNext = true;
    fake.loseDevice('WebGPU device lost (unknown): gone for good');
    // Each call of the message fails with the session's error, now and later.
    expect(errorOf((await rt.call(classifyReq(1, [gray()]))).outcomes[0]!)).toMatchObject({ name: 'BackendUnavailableError', fields: { backend: 'webgpu' } });
    expect(errorOf((await rt.call(classifyReq(1, [gray()]))).outcomes[0]!).message).toMatch(/no new WebGPU device could be created/);
    expect(rt.backend().fallbacks).toHaveLength(1);
  });

  it('run(): a failure that is not a lost device is not retried', async () => {
    const fake = fakeWebGPU();
    let releases = 0;
    const session = await BackendSession.start(
      { select: { preference: 'auto', allowSoftwareWebGPU: false, wasmPaths: { 'tfjs-backend-wasm.wasm': '', 'tfjs-backend-wasm-simd.wasm': '', 'tfjs-backend-wasm-threaded-simd.wasm': '' }, wasmThreads: 0 }, selectBackend: fake.select },
      { release: () => void releases++, rebuild: async () => [] },
    );
    let runs = 0;
    await expect(
      session.run(async () => {
        runs++;
        throw new Error('a real bug');
      }),
    ).rejects.toThrow('a real bug');
    expect(runs).toBe(1);
    let tries = 0;
    const value = await session.run(async () => {
      if (tries++ === 0) {
        fake.loseDevice();
        throw new Error('GPU buffer read failed');
      }
      return 5;
    });
    expect(value).toBe(5);
    expect(tries).toBe(2);
    expect(releases).toBe(1);
    expect(session.info.name).toBe('cpu');
  });
});
