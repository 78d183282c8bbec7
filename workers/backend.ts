/**
 * Backend choice, in the worker. tfjs's own priority list falls through silently
 * (and to WebGL, which we never load); here every candidate is tried in order,
 * confirmed by a numeric self-test, and the reason for every choice and every
 * rejection is kept for the caller.
 *
 * Order for `auto`: WebGPU on a hardware adapter → WASM (SIMD, threads when the
 * page is cross-origin isolated) → CPU. A software WebGPU adapter (SwiftShader)
 * is slower than WASM and is only used when asked for.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { BackendUnavailableError } from '../src/shared/errors/backend-unavailable.js';
import type { AdapterInfo, BackendInfo, BackendName, BackendPreference, WasmPaths } from '../src/shared/types.js';

export interface SelectOptions {
  readonly preference: BackendPreference;
  readonly allowSoftwareWebGPU: boolean;
  readonly wasmPaths: WasmPaths;
  readonly wasmThreads: number;
  /** Backends that must not be tried again (e.g. WebGPU after its device was lost). */
  readonly exclude?: ReadonlySet<BackendName>;
  /** Called once if the WebGPU device is lost later. */
  readonly onDeviceLost: (reason: string) => void;
}

type Attempt =
  | { ok: true; info: Omit<BackendInfo, 'rejected' | 'fallbacks'>; /** Configurations of this backend that could not start (e.g. WASM threads). */ notes?: { name: BackendName; reason: string }[] }
  | { ok: false; reason: string };

/**
 * Where the library build's threaded tfjs glue records why its threads could not start (scripts/tfjs-glue.ts,
 * THREAD_FAILURE_KEY); undefined when they started or were never tried.
 */
const THREAD_FAILURE = Symbol.for('webinfer.wasmThreadFailure');
function threadFailure(): string | undefined {
  const v = (globalThis as Record<symbol, unknown>)[THREAD_FAILURE];
  return typeof v === 'string' ? v : undefined;
}

let currentDevice: GPUDevice | undefined;

/** The live WebGPU device, when WebGPU is the backend (for tests that simulate a lost device). */
export function webgpuDevice(): GPUDevice | undefined {
  return currentDevice;
}

/**
 * Picks and initialises a backend. Throws BackendUnavailableError when a forced
 * backend cannot run, or when nothing can.
 */
export async function selectBackend(opts: SelectOptions, fallbacks: BackendInfo['fallbacks'] = []): Promise<BackendInfo> {
  const order: BackendName[] = opts.preference === 'auto' ? ['webgpu', 'wasm', 'cpu'] : [opts.preference];
  const rejected: { name: BackendName; reason: string }[] = [];
  for (const name of order) {
    if (opts.exclude?.has(name)) {
      rejected.push({ name, reason: 'excluded after an earlier failure in this session' });
      continue;
    }
    const attempt = await tryBackend(name, opts);
    if (attempt.ok) {
      rejected.push(...(attempt.notes ?? []));
      // Every other backend gets a reason too: lower priority, or not asked for.
      const all: BackendName[] = ['webgpu', 'wasm', 'cpu'];
      for (const other of all) {
        if (other === name || rejected.some((r) => r.name === other)) continue;
        rejected.push({
          name: other,
          reason: opts.preference === 'auto' ? `lower priority than ${name}, which passed its self-test` : `not requested (backend forced to "${name}")`,
        });
      }
      return { ...attempt.info, rejected, fallbacks };
    }
    rejected.push({ name, reason: attempt.reason });
  }
  if (opts.preference !== 'auto') {
    const r = rejected[0];
    throw new BackendUnavailableError(`backend "${opts.preference}" is unavailable: ${r?.reason ?? 'unknown'}`, {
      backend: opts.preference,
      reason: r?.reason ?? 'unknown',
    });
  }
  throw new BackendUnavailableError(`no backend could start: ${rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')}`, {
    backend: 'auto',
    reason: rejected.map((r) => `${r.name}: ${r.reason}`).join('; '),
  });
}

async function tryBackend(name: BackendName, opts: SelectOptions): Promise<Attempt> {
  try {
    switch (name) {
      case 'webgpu':
        return await tryWebGPU(opts);
      case 'wasm':
        return await tryWasm(opts);
      case 'cpu':
        return await tryCpu();
    }
  } catch (e) {
    return { ok: false, reason: `initialisation threw: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function readAdapterInfo(adapter: GPUAdapter): AdapterInfo {
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const description = info?.description ?? '';
  const flag = (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const software = flag === true || /swiftshader|llvmpipe|lavapipe|software|warp/i.test(`${architecture} ${description} ${info?.device ?? ''}`);
  return { vendor, architecture, device: info?.device ?? '', description, isFallback: software };
}

async function tryWebGPU(opts: SelectOptions): Promise<Attempt> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { ok: false, reason: 'navigator.gpu is undefined: this browser has no WebGPU (or it is disabled, or the page is not a secure context)' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { ok: false, reason: 'navigator.gpu.requestAdapter() returned null: no usable GPU adapter' };
  const adapterInfo = readAdapterInfo(adapter);
  if (adapterInfo.isFallback && opts.preference === 'auto' && !opts.allowSoftwareWebGPU) {
    return {
      ok: false,
      reason: `only a software adapter is available (${adapterInfo.architecture || adapterInfo.description || 'fallback'}); WASM is faster on this device. Pass backend: 'webgpu' or allowSoftwareWebGPU: true to use it`,
    };
  }
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, (adapter as { info?: GPUAdapterInfo }).info), 3);
  if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: 'tfjs could not initialise the WebGPU backend' };
  const test = await selfTest();
  if (!test.ok) {
    tf.removeBackend('webgpu');
    device.destroy();
    return { ok: false, reason: test.reason };
  }
  currentDevice = device;
  let reported = false;
  void device.lost.then((info) => {
    if (currentDevice === device) currentDevice = undefined;
    if (reported) return;
    reported = true;
    opts.onDeviceLost(`WebGPU device lost (${info.reason}): ${info.message || 'no message'}`);
  });
  const kind = adapterInfo.isFallback ? 'software adapter, as requested' : 'hardware adapter';
  return {
    ok: true,
    info: {
      name: 'webgpu',
      reason: `WebGPU on a ${kind} (${[adapterInfo.vendor, adapterInfo.architecture].filter(Boolean).join(' ') || 'unknown'}); self-test max error ${test.maxError.toExponential(1)}`,
      simd: false,
      threads: false,
      threadCount: 1,
      crossOriginIsolated: isIsolated(),
      adapter: adapterInfo,
      selfTest: { ms: test.ms, maxError: test.maxError },
    },
  };
}

function isIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

async function tryWasm(opts: SelectOptions): Promise<Attempt> {
  if (typeof WebAssembly !== 'object') return { ok: false, reason: 'WebAssembly is not available' };
  setWasmPaths({ ...opts.wasmPaths });
  if (opts.wasmThreads > 0) setThreadsCount(opts.wasmThreads);
  const notes: { name: BackendName; reason: string }[] = [];
  const threadsWanted = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  let started = await tf.setBackend('wasm');
  if (!started && threadsWanted) {
    // The threaded module could not start (a thread's script failed, or it timed out): run single-threaded
    // SIMD WASM instead, for the rest of this worker's life, and say why.
    const why = threadFailure() ?? 'tfjs could not initialise the threaded WASM module';
    notes.push({ name: 'wasm', reason: `multi-threaded WASM could not start (${why}); fell back to single-threaded WASM` });
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    started = await tf.setBackend('wasm');
  }
  if (!started) {
    const why = notes[0]?.reason;
    return { ok: false, reason: `tfjs could not initialise the WASM backend (were the .wasm files found? see wasmPaths)${why ? `; ${why}` : ''}` };
  }
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  const test = await selfTest();
  if (!test.ok) {
    tf.removeBackend('wasm');
    return { ok: false, reason: test.reason };
  }
  const threadCount = threads ? getThreadsCount() : 1;
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 1;
  const why = notes.length
    ? 'single-threaded: the threaded build could not start (see rejected)'
    : threads
    ? threadCount > 1
      ? `${threadCount} threads (page is cross-origin isolated)`
      : `threaded build (page is cross-origin isolated), but XNNPACK runs 1 thread (${cores} logical core${cores === 1 ? '' : 's'}, or wasmThreads: 1)`
    : isIsolated()
      ? 'single-threaded (this browser has no WASM threads)'
      : 'single-threaded: the page is not cross-origin isolated (serve COOP/COEP headers for threads)';
  return {
    ok: true,
    info: {
      name: 'wasm',
      reason: `WASM${simd ? ' with SIMD' : ' without SIMD'}, ${why}`,
      simd,
      threads,
      threadCount,
      crossOriginIsolated: isIsolated(),
      selfTest: { ms: test.ms, maxError: test.maxError },
    },
    notes,
  };
}

async function tryCpu(): Promise<Attempt> {
  if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'tfjs could not initialise the CPU backend' };
  const test = await selfTest();
  if (!test.ok) return { ok: false, reason: test.reason };
  return {
    ok: true,
    info: {
      name: 'cpu',
      reason: 'plain JavaScript CPU backend: the slowest, used because nothing faster could start',
      simd: false,
      threads: false,
      threadCount: 1,
      crossOriginIsolated: isIsolated(),
      selfTest: { ms: test.ms, maxError: test.maxError },
    },
  };
}

/** Largest error the self-test accepts (float32 on any backend is far below it). */
export const SELF_TEST_TOLERANCE = 1e-3;

/**
 * A small matMul + bias + ReLU + softmax on the active backend, checked against the
 * same computation in float64 JavaScript. Catches broken drivers and kernels that
 * initialise fine but compute garbage.
 */
export async function selfTest(): Promise<{ ok: true; ms: number; maxError: number } | { ok: false; reason: string }> {
  const n = 16;
  const a = new Float32Array(n * n);
  const b = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      a[i * n + j] = (((i * 7 + j * 3) % 11) - 5) / 10;
      b[i * n + j] = (((i * 5 + j * 2) % 13) - 6) / 13;
    }
  }
  const bias = Float32Array.from({ length: n }, (_, j) => (j % 5) / 10 - 0.2);
  const expected = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    const row = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = bias[j] as number;
      for (let k = 0; k < n; k++) s += (a[i * n + k] as number) * (b[k * n + j] as number);
      row[j] = Math.max(0, s);
      max = Math.max(max, row[j] as number);
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp((row[j] as number) - max);
    for (let j = 0; j < n; j++) expected[i * n + j] = Math.exp((row[j] as number) - max) / sum;
  }
  const t0 = performance.now();
  const out = tf.tidy(() => tf.softmax(tf.relu(tf.add(tf.matMul(tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])), tf.tensor1d(bias)))));
  let got: Float32Array;
  try {
    got = (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
  const ms = performance.now() - t0;
  let maxError = 0;
  for (let i = 0; i < n * n; i++) {
    const err = Math.abs((got[i] as number) - (expected[i] as number));
    if (!(err <= maxError)) maxError = Number.isNaN(err) ? Infinity : err;
  }
  if (!(maxError <= SELF_TEST_TOLERANCE)) {
    return { ok: false, reason: `self-test failed: max error ${maxError} > ${SELF_TEST_TOLERANCE}` };
  }
  return { ok: true, ms, maxError };
}
