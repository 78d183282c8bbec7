/** What a workload page returns to the runner (`bench/run.ts`), as JSON. */

/** Parameters every workload gets from the runner. */
export interface BenchParams {
  /** Few iterations: proves the harness works (CI), numbers are not meaningful. */
  readonly smoke: boolean;
  /** Registry base URL (same origin), with the benchmark models published. */
  readonly registry: string;
  /** Base URL of the raw model files (`/models/…` = repo `models/`, `/fixtures/…` = `bench/fixtures/`). */
  readonly files: string;
  /** Base URL of onnxruntime-web's dist/ (its .wasm/.mjs files). */
  readonly ort: string;
  /** WASM threads for every runtime in the comparison (webinfer, plain tfjs, ONNX Runtime). */
  readonly threads: number;
  /** Workload-specific extras (e.g. cold-start phase). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** One figure of the results table. */
export interface Row {
  /** Stable id, used by the targets (e.g. `classify.fashion.webinfer`). */
  readonly id: string;
  readonly label: string;
  /** `ms`, `GFLOP/s`, `images/s`, `tokens/s`, `×`, `bytes`, `tensors`, … */
  readonly unit: string;
  readonly median: number;
  readonly p95?: number;
  readonly n?: number;
  readonly note?: string;
}

export interface WorkloadResult {
  readonly title: string;
  readonly rows: readonly Row[];
  readonly notes?: readonly string[];
  /** Facts the page saw (backend, threads, crossOriginIsolated, …). */
  readonly facts?: Readonly<Record<string, unknown>>;
}

export type Workload = (params: BenchParams) => Promise<WorkloadResult>;

/** Builds a row from a summary. */
export function row(id: string, label: string, unit: string, s: { median: number; p95?: number; n?: number }, note?: string): Row {
  return { id, label, unit, median: s.median, ...(s.p95 === undefined ? {} : { p95: s.p95 }), ...(s.n === undefined ? {} : { n: s.n }), ...(note ? { note } : {}) };
}

/** What the page exposes to the runner. */
export interface BenchApi {
  readonly names: readonly string[];
  run(name: string, params: BenchParams): Promise<WorkloadResult>;
  env(): { crossOriginIsolated: boolean; hardwareConcurrency: number; userAgent: string };
}

declare global {
  interface Window {
    bench: BenchApi;
  }
}
