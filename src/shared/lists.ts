/**
 * The closed lists of webinfer, written once. Every union type of these names is derived
 * from a list here, and every runtime check of such a name reads the same list. No
 * dependencies (the main-thread bundle imports this file; valibot stays in the worker).
 */

/** Backends webinfer can run on, in the order `auto` tries them. */
export const BACKEND_NAMES = ['webgpu', 'wasm', 'cpu'] as const;
/** A backend webinfer can run on. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a client may ask for: a backend, or `auto`. */
export const BACKEND_PREFERENCES = ['auto', ...BACKEND_NAMES] as const;
/** What the caller asks for: `auto` (WebGPU on a hardware adapter, else WASM, else CPU) or one backend. */
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

/**
 * Numeric variants of a model's weights. `float32` is always present. `float16` and `uint8`
 * (image models) are dequantized to float32 by tfjs on load; `int8` and `int4` (text models) are
 * group-wise quantized weights that webinfer's WASM engine keeps quantized in memory.
 */
export const DTYPES = ['float32', 'float16', 'uint8', 'int8', 'int4'] as const;
/** A numeric variant of the weights. */
export type Dtype = (typeof DTYPES)[number];
/** What a load may ask for: a variant, or `auto`. */
export const DTYPE_PREFERENCES = ['auto', ...DTYPES] as const;
/** What the caller asks for: a variant, or `auto`. */
export type DtypePreference = (typeof DTYPE_PREFERENCES)[number];

/** The tasks a model can be published for (registry protocol v1). Each has a row in both task tables. */
export const TASKS = ['image-classification', 'text-generation', 'image-generation', 'text-classification', 'feature-extraction'] as const;
/** A task name. */
export type TaskName = (typeof TASKS)[number];

/** The model formats registry protocol v1 knows. */
export const FORMATS = ['tfjs-layers', 'tfjs-graph', 'gpt2-safetensors', 'llama-safetensors'] as const;
/** A model format. */
export type Format = (typeof FORMATS)[number];

/** The three tfjs WASM binaries, by file name. */
export const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;
/** One of the tfjs WASM binaries. */
export type WasmFile = (typeof WASM_FILES)[number];

/**
 * True when `value` is one of `list`, narrowing it.
 *
 * @example
 * isOneOf(BACKEND_PREFERENCES, 'webgl'); // false
 * isOneOf(TASKS, 'text-generation');     // true
 */
export function isOneOf<const L extends readonly string[]>(list: L, value: unknown): value is L[number] {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}
