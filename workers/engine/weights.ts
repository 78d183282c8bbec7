/**
 * Laying a checkpoint's weights out in the engine's memory, for every decoder (GPT-2, Llama):
 * a plan of tensors (vectors copied as float32, matrices packed as float32 panels or copied as
 * the quantizer's int8 / int4 panels with their scales), a descriptor of their addresses, and
 * the copying itself — in file order (each chunk of the download is released as soon as its
 * tensors are in), with a task hop every ~20 ms (heartbeats and aborts get through).
 */
import { ManifestError } from '../../src/shared/errors/manifest.js';
import { packedLength, packFloatRows, quantizedBytes, scaleCount, type MatrixLayout } from '../../src/shared/quant/panels.js';
import { nextTask } from '../queues/next-task.js';
import type { Engine, Region } from './engine.js';
import { toFloat32, type TensorEntry, type TensorSource } from './tensors.js';

/** How the weights are held. */
export type WeightKind = 'float32' | 'int8' | 'int4';
/** The codes the engine's descriptors use for them. */
export const KIND_CODE: Record<WeightKind, number> = { float32: 0, int8: 1, int4: 2 };

/** The float bits of a number (descriptor words are u32). */
export function f32Bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0] as number;
}

/** What a quantized file says of itself: its kind and group size (checked against the widths it must divide). */
export function weightKindOf(tensors: TensorSource, widths: readonly number[], where: string): { kind: WeightKind; group: number } {
  const quant = tensors.metadata['webinfer.quantization'];
  const kind: WeightKind = quant === 'int8' ? 'int8' : quant === 'int4' ? 'int4' : 'float32';
  const group = kind === 'float32' ? 0 : Number(tensors.metadata['webinfer.group']);
  if (kind !== 'float32' && (!Number.isInteger(group) || group <= 0 || group % 8 !== 0 || widths.some((w) => w % group !== 0))) {
    throw new ManifestError(`${where}: webinfer.group ${String(tensors.metadata['webinfer.group'])} does not divide the model's widths (${widths.join(', ')})`, { url: where, issues: ['webinfer.group'] });
  }
  return { kind, group };
}

/**
 * A plan of the tensors of one model, then `run()` to copy them in.
 *
 * @example
 * const plan = new WeightPlan(engine, tensors, 'int8', 64, where, alloc, (slot, ptr) => words[slot] = ptr);
 * plan.vector('model.norm.weight', [C], NORM);
 * plan.matrix('model.layers.0.self_attn.q_proj.weight', C, C, 'nk', QW, QS);
 * await plan.run();
 */
export class WeightPlan {
  readonly #jobs: { entries: TensorEntry[]; run: () => Promise<void> | void }[] = [];
  #since = performance.now();

  constructor(
    private readonly engine: Engine,
    private readonly tensors: TensorSource,
    readonly kind: WeightKind,
    readonly group: number,
    private readonly where: string,
    private readonly alloc: (bytes: number) => Region,
    private readonly set: (slot: number, ptr: number) => void,
    /** Lets events run; default one task hop. */
    private readonly pause: () => Promise<void> = nextTask,
    /** Other names a tensor may have in this checkpoint (e.g. without a `transformer.` prefix). */
    private readonly aliases: (name: string) => readonly string[] = () => [],
  ) {}

  bad(why: string): never {
    throw new ManifestError(`${this.where}: ${why}`, { url: this.where, issues: [why] });
  }

  /** The entry of `name` (or one of its aliases), with `suffix`. */
  find(name: string, suffix = ''): TensorEntry | undefined {
    for (const n of [name, ...this.aliases(name)]) {
      const e = this.tensors.get(n + suffix);
      if (e) return e;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.find(name) !== undefined || this.find(name, '.wi_q8') !== undefined || this.find(name, '.wi_q4') !== undefined;
  }

  #float(name: string, shape: readonly number[]): TensorEntry {
    const e = this.find(name);
    if (!e) return this.bad(`tensor ${name} is missing`);
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) this.bad(`${name} has shape [${e.shape.join(', ')}], config.json implies [${shape.join(', ')}]`);
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16') this.bad(`${name} is ${e.dtype}, expected a float tensor`);
    return e;
  }

  async #breathe(): Promise<void> {
    if (performance.now() - this.#since > 20) {
      await this.pause();
      this.#since = performance.now();
    }
  }

  #range(e: TensorEntry, start: number, end: number): Uint8Array {
    return this.tensors.readRange ? this.tensors.readRange(e, start, end) : this.tensors.read(e).subarray(start, end);
  }

  /** A float vector or table, as float32, at `slot`. */
  vector(name: string, shape: readonly number[], slot: number): void {
    const e = this.#float(name, shape);
    this.#jobs.push({
      entries: [e],
      run: () => {
        const count = shape.reduce((a, b) => a * b, 1);
        const r = this.alloc(count * 4);
        toFloat32(this.tensors.read(e), e.dtype, this.engine.f32(r, count));
        this.set(slot, r.ptr);
      },
    });
  }

  /**
   * A K×N matrix at `wSlot` (and its scales at `sSlot` when quantized): float tensors packed as
   * float32 panels row by row; the quantizer's `name.wi_q8|wi_q4` + `name.wi_scales` copied in.
   * `layout`: `kn` (GPT-2's Conv1D [in, out]) or `nk` (nn.Linear [out, in], embeddings).
   */
  matrix(name: string, K: number, N: number, layout: MatrixLayout, wSlot: number, sSlot: number): void {
    if (this.kind === 'float32') {
      const e = this.#float(name, layout === 'kn' ? [K, N] : [N, K]);
      this.#jobs.push({
        entries: [e],
        run: async () => {
          const elem = e.dtype === 'F32' ? 4 : 2;
          const rowBytes = (layout === 'kn' ? N : K) * elem;
          const rows = layout === 'kn' ? K : N;
          const r = this.alloc(packedLength(K, N) * 4);
          this.engine.f32(r, packedLength(K, N)).fill(0);
          const step = Math.max(1, Math.floor((1 << 20) / (layout === 'kn' ? N : K)));
          for (let from = 0; from < rows; from += step) {
            // A fresh view per slice: the memory may have grown (a non-shared buffer detaches).
            packFloatRows((i, out) => toFloat32(this.#range(e, i * rowBytes, (i + 1) * rowBytes), e.dtype, out), layout, K, N, this.engine.f32(r, packedLength(K, N)), from, Math.min(rows, from + step));
            await this.#breathe();
          }
          this.set(wSlot, r.ptr);
        },
      });
      return;
    }
    const bits = this.kind === 'int8' ? 8 : 4;
    const qe = this.find(name, bits === 8 ? '.wi_q8' : '.wi_q4');
    const se = this.find(name, '.wi_scales');
    if (!qe || !se) return this.bad(`${name}: the ${this.kind} file has no ${name}${bits === 8 ? '.wi_q8' : '.wi_q4'} / .wi_scales`);
    if (qe.bytes !== quantizedBytes(K, N, bits) || se.bytes !== scaleCount(K, N, this.group) * 4 || se.dtype !== 'F32') {
      this.bad(`${name}: quantized tensors do not match [${K}, ${N}] with groups of ${this.group}`);
    }
    for (const [e, slot] of [[qe, wSlot], [se, sSlot]] as const) {
      this.#jobs.push({
        entries: [e],
        run: async () => {
          const r = this.alloc(e.bytes);
          const piece = 1 << 22;
          for (let at = 0; at < e.bytes; at += piece) {
            this.engine.u8(r, e.bytes).set(this.#range(e, at, Math.min(e.bytes, at + piece)), at);
            await this.#breathe();
          }
          this.set(slot, r.ptr);
        },
      });
    }
  }

  /** Copies every planned tensor, in file order, releasing the source's chunks as it goes. */
  async run(): Promise<void> {
    const order = new Map(this.tensors.names().map((n, i) => [n, i]));
    const pos = (job: { entries: TensorEntry[] }): number => Math.min(...job.entries.map((e) => order.get(e.name) ?? 0));
    const jobs = [...this.#jobs].sort((a, b) => pos(a) - pos(b));
    for (const job of jobs) {
      await job.run();
      job.entries.forEach((e) => this.tensors.done?.(e));
      await this.#breathe();
    }
  }
}

/** Runs `build` with an allocator that records its regions; frees them all if it fails. */
export async function buildRegions<T>(engine: Engine, build: (alloc: (bytes: number) => Region) => Promise<T>): Promise<{ regions: Region[]; value: T }> {
  const regions: Region[] = [];
  try {
    const value = await build((bytes) => {
      const r = engine.alloc(bytes);
      regions.push(r);
      return r;
    });
    return { regions, value };
  } catch (e) {
    regions.forEach((r) => engine.free(r));
    throw e;
  }
}
