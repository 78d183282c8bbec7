/**
 * The WebAssembly engine (`native/engine.c`) from TypeScript: one linear memory (shared between
 * threads when the page is cross-origin isolated), an allocator over it, the helper threads, and
 * the calls into the module. Tasks build on it: `gpt2.ts` lays a GPT-2 out in its memory.
 *
 * Memory is reused, never returned to the browser (WebAssembly memory cannot shrink): freed
 * regions go back to the allocator, so a model loaded after another one disposed reuses its bytes.
 */

/** The four builds of the engine (see `scripts/build-engine.sh`). */
export type EngineVariant = 'engine-st' | 'engine-st-rx' | 'engine-mt' | 'engine-mt-rx';

/** Where the engine's binaries are, by variant (URLs, or the bytes themselves in Node tests). */
export type EngineSources = { readonly [V in EngineVariant]: string | URL | BufferSource };

/** Starts one helper thread: a worker that instantiates `module` over `memory` and runs `wi_thread(ctl, tid)`. */
export type SpawnThread = (init: ThreadInit) => Promise<{ terminate(): void }>;

/** What a helper thread gets. */
export interface ThreadInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly ctl: number;
  readonly tid: number;
  /** Top of this thread's own stack (each instance has its own `__stack_pointer`). */
  readonly stackTop: number;
}

interface Exports {
  readonly wi_run: (ctl: number, job: number) => void;
  readonly wi_abi: () => number;
  readonly wi_ctl_size: () => number;
  readonly __heap_base: WebAssembly.Global;
}

/** Jobs of `wi_run` (see `native/engine.c`). */
export const JOB = { exit: 1, gpt2: 2, linear: 3, bandwidth: 4, llama: 5, cnn: 6 } as const;

const PAGE = 65536;
const ALIGN = 64;
const STACK_BYTES = 256 * 1024;
/** Word offsets in the control block. */
const CTL = { jobGen: 0, job: 1, nthreads: 2, args: 8 } as const;
const CTL_ARGS = 24;

/** A region of the engine's memory. */
export interface Region {
  readonly ptr: number;
  readonly bytes: number;
}

/**
 * First-fit allocator over the memory above the module's static area; grows the memory as
 * needed, coalesces freed neighbours.
 */
class Allocator {
  /** Free regions, sorted by address. */
  #free: { ptr: number; bytes: number }[] = [];
  #top: number;
  #inUse = 0;
  #peak = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.#top = align(base);
  }

  get inUse(): number {
    return this.#inUse;
  }
  get peak(): number {
    return this.#peak;
  }
  get top(): number {
    return this.#top;
  }

  alloc(bytes: number): Region {
    const size = align(Math.max(bytes, 1));
    const i = this.#free.findIndex((f) => f.bytes >= size);
    let ptr: number;
    if (i >= 0) {
      const f = this.#free[i] as { ptr: number; bytes: number };
      ptr = f.ptr;
      if (f.bytes === size) this.#free.splice(i, 1);
      else {
        f.ptr += size;
        f.bytes -= size;
      }
    } else {
      ptr = this.#top;
      const end = ptr + size;
      if (end > 2 ** 32 - PAGE) throw new RangeError(`the engine's memory would exceed 4 GiB (${(end / 2 ** 30).toFixed(2)} GiB needed)`);
      const have = this.memory.buffer.byteLength;
      if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
      this.#top = end;
    }
    this.#inUse += size;
    this.#peak = Math.max(this.#peak, this.#inUse);
    return { ptr, bytes: size };
  }

  free(r: Region): void {
    this.#inUse -= r.bytes;
    const at = this.#free.findIndex((f) => f.ptr > r.ptr);
    const idx = at === -1 ? this.#free.length : at;
    this.#free.splice(idx, 0, { ptr: r.ptr, bytes: r.bytes });
    // Coalesce with the next and the previous region.
    const cur = this.#free[idx] as { ptr: number; bytes: number };
    const next = this.#free[idx + 1];
    if (next && cur.ptr + cur.bytes === next.ptr) {
      cur.bytes += next.bytes;
      this.#free.splice(idx + 1, 1);
    }
    const prev = this.#free[idx - 1];
    if (prev && prev.ptr + prev.bytes === cur.ptr) {
      prev.bytes += cur.bytes;
      this.#free.splice(idx, 1);
    }
    // A free region at the top lowers the top (reused first by the next allocation there).
    const last = this.#free[this.#free.length - 1];
    if (last && last.ptr + last.bytes === this.#top) {
      this.#top = last.ptr;
      this.#free.pop();
    }
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** Options of {@link Engine.start}. */
export interface EngineOptions {
  readonly sources: EngineSources;
  /** Threads taking part in each job (1 = no helpers). Needs SharedArrayBuffer (a cross-origin isolated page) when > 1. */
  readonly threads: number;
  /** Use the relaxed-SIMD build (FMA) when the runtime validates it. Default true. */
  readonly relaxed?: boolean;
  /** Starts a helper thread; default: a module worker running `thread.ts`. */
  readonly spawn?: SpawnThread;
}

/** A tiny module using `f32x4.relaxed_madd`: validates only where relaxed SIMD is supported. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11,
]);

/** True when this runtime runs relaxed SIMD (Chromium ≥ 114). */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** True when threads can share memory here (a cross-origin isolated page, or Node). */
export function canShareMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return isolated !== false;
}

async function compile(source: string | URL | BufferSource): Promise<WebAssembly.Module> {
  if (typeof source === 'string' || source instanceof URL) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`could not fetch the engine (${String(source)}): HTTP ${res.status}`);
    return WebAssembly.compile(await res.arrayBuffer());
  }
  return WebAssembly.compile(source);
}

/**
 * The engine: memory, allocator, threads.
 *
 * @example
 * const engine = await Engine.start({ sources, threads: 2 });
 * const r = engine.alloc(1024);            // { ptr, bytes }
 * engine.f32(r).set(values);
 * engine.run(JOB.bandwidth, [r.ptr, 256]);
 * engine.free(r);
 */
export class Engine {
  readonly memory: WebAssembly.Memory;
  readonly variant: EngineVariant;
  readonly threads: number;
  readonly #exports: Exports;
  readonly #alloc: Allocator;
  readonly #ctl: Region;
  readonly #helpers: { terminate(): void }[];
  #disposed = false;

  private constructor(memory: WebAssembly.Memory, variant: EngineVariant, threads: number, exports: Exports, alloc: Allocator, ctl: Region, helpers: { terminate(): void }[]) {
    this.memory = memory;
    this.variant = variant;
    this.threads = threads;
    this.#exports = exports;
    this.#alloc = alloc;
    this.#ctl = ctl;
    this.#helpers = helpers;
  }

  /** Loads the engine: the threaded build when `threads > 1` and memory can be shared, relaxed SIMD where supported. */
  static async start(options: EngineOptions): Promise<Engine> {
    const shared = options.threads > 1 && canShareMemory();
    const relaxed = options.relaxed !== false && hasRelaxedSimd();
    const variant: EngineVariant = `engine-${shared ? 'mt' : 'st'}${relaxed ? '-rx' : ''}`;
    const threads = shared ? Math.max(1, Math.floor(options.threads)) : 1;
    const module = await compile(options.sources[variant]);
    const memory = new WebAssembly.Memory(shared ? { initial: 64, maximum: 65536, shared: true } : { initial: 64, maximum: 65536 });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const exports = instance.exports as unknown as Exports;
    if (exports.wi_abi() !== 1) throw new Error(`engine ABI ${exports.wi_abi()} is not 1`);
    const alloc = new Allocator(memory, Number(exports.__heap_base.value));
    const ctl = alloc.alloc(Math.max(exports.wi_ctl_size(), (CTL.args + CTL_ARGS) * 4));
    new Int32Array(memory.buffer, ctl.ptr, ctl.bytes / 4).fill(0);
    new Int32Array(memory.buffer, ctl.ptr, 4)[CTL.nthreads] = 1;
    const helpers: { terminate(): void }[] = [];
    if (threads > 1) {
      const spawn = options.spawn ?? spawnModuleWorker;
      try {
        for (let tid = 1; tid < threads; tid++) {
          const stack = alloc.alloc(STACK_BYTES);
          helpers.push(await spawn({ module, memory, ctl: ctl.ptr, tid, stackTop: stack.ptr + stack.bytes }));
        }
      } catch (e) {
        helpers.forEach((h) => h.terminate());
        throw e;
      }
      new Int32Array(memory.buffer, ctl.ptr, 4)[CTL.nthreads] = threads;
    }
    return new Engine(memory, variant, threads, exports, alloc, ctl, helpers);
  }

  /** Bytes of the engine's memory in use by models and generations now, and at most so far. */
  get bytesInUse(): number {
    return this.#alloc.inUse;
  }
  get peakBytes(): number {
    return this.#alloc.peak;
  }
  /** Size of the engine's linear memory (it grows, never shrinks; freed bytes are reused). */
  get heapBytes(): number {
    return this.memory.buffer.byteLength;
  }

  alloc(bytes: number): Region {
    this.#assertLive();
    return this.#alloc.alloc(bytes);
  }

  free(r: Region): void {
    if (!this.#disposed) this.#alloc.free(r);
  }

  /** Views of a region (made anew each time: growing the memory detaches older views of a non-shared buffer). */
  f32(r: Region, length = r.bytes / 4): Float32Array {
    return new Float32Array(this.memory.buffer, r.ptr, length);
  }
  i32(r: Region, length = r.bytes / 4): Int32Array {
    return new Int32Array(this.memory.buffer, r.ptr, length);
  }
  u32(r: Region, length = r.bytes / 4): Uint32Array {
    return new Uint32Array(this.memory.buffer, r.ptr, length);
  }
  u8(r: Region, length = r.bytes): Uint8Array {
    return new Uint8Array(this.memory.buffer, r.ptr, length);
  }

  /**
   * Runs a job with `args` (u32 words) on `threads` threads (default: all; 1 = this thread alone, the helpers
   * stay asleep), and returns when all are done.
   */
  run(job: number, args: readonly number[], threads = this.threads): void {
    this.#assertLive();
    if (args.length > CTL_ARGS) throw new RangeError(`a job takes at most ${CTL_ARGS} arguments`);
    const words = new Uint32Array(this.memory.buffer, this.#ctl.ptr + CTL.args * 4, CTL_ARGS);
    args.forEach((a, i) => (words[i] = a >>> 0));
    const n = Math.max(1, Math.min(this.threads, Math.floor(threads)));
    const ctl = new Int32Array(this.memory.buffer, this.#ctl.ptr, 4);
    ctl[CTL.nthreads] = n;
    try {
      this.#exports.wi_run(this.#ctl.ptr, job);
    } finally {
      ctl[CTL.nthreads] = this.threads;
    }
  }

  /** The argument words after a job (results some jobs leave there). */
  args(): Uint32Array {
    return new Uint32Array(this.memory.buffer, this.#ctl.ptr + CTL.args * 4, CTL_ARGS);
  }

  /** Stops the helper threads. The memory goes with the last reference to this object. */
  dispose(): void {
    if (this.#disposed) return;
    if (this.threads > 1) {
      try {
        this.#exports.wi_run(this.#ctl.ptr, JOB.exit);
      } catch {
        /* terminate anyway */
      }
    }
    this.#helpers.forEach((h) => h.terminate());
    this.#disposed = true;
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error('the engine was disposed');
  }
}

/** The default helper: a module worker running `thread.ts`, ready once it has instantiated the engine. */
const spawnModuleWorker: SpawnThread = (init) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./thread.ts', import.meta.url), { type: 'module', name: 'webinfer-engine' });
    const fail = (why: string): void => {
      worker.terminate();
      reject(new Error(`engine thread ${init.tid} failed to start: ${why}`));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      fail(e.message || 'the thread script failed to load');
    };
    worker.onmessage = (e: MessageEvent<{ ready?: true; error?: string }>) => {
      if (e.data.ready) resolve(worker);
      else fail(e.data.error ?? 'unknown');
    };
    worker.postMessage(init);
  });
