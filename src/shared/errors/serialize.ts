import { ModelNotFoundError } from './model-not-found.js';
import { IntegrityError } from './integrity.js';
import { BackendUnavailableError } from './backend-unavailable.js';
import { InvalidInputError } from './invalid-input.js';
import { TaskMismatchError } from './task-mismatch.js';
import { WorkerCrashedError } from './worker-crashed.js';
import { AbortError } from './abort.js';
import { TimeoutError } from './timeout.js';
import { RegistryUnavailableError } from './registry-unavailable.js';
import { ManifestError } from './manifest.js';
import { QuotaExceededError } from './quota-exceeded.js';
import { ModelDisposedError } from './model-disposed.js';

import { WebInferError } from './base.js';

const CLASSES = {
  ModelNotFoundError,
  IntegrityError,
  BackendUnavailableError,
  InvalidInputError,
  TaskMismatchError,
  WorkerCrashedError,
  AbortError,
  TimeoutError,
  RegistryUnavailableError,
  ManifestError,
  QuotaExceededError,
  ModelDisposedError,
} as const;

/**
 * Every concrete webinfer error, as a union discriminated by `name` and `code`:
 * after `isWebInferError(e)`, checking `e.code === 'INTEGRITY'` narrows `e` to IntegrityError.
 */
export type AnyWebInferError = InstanceType<(typeof CLASSES)[keyof typeof CLASSES]>;

/** The structured-clone-safe form of an error, as it crosses the worker boundary. */
export interface SerializedError {
  readonly __webinfer: 1;
  readonly name: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
  readonly stack?: string;
  readonly cause?: SerializedError;
  /** Set when the original was not one of ours (a TypeError, a DOMException…). */
  readonly foreign?: true;
}

/**
 * Cross-realm type guard: true for any webinfer error, also one made in another
 * realm (worker, iframe) where `instanceof` fails, by checking `name` and `code`.
 *
 * @example
 * isWebInferError(new IntegrityError('bad', { file: 'a', expected: 'x', actual: 'y' })); // true
 * isWebInferError(new Error('x')); // false
 */
export function isWebInferError(value: unknown): value is AnyWebInferError {
  if (value instanceof WebInferError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { name?: unknown; code?: unknown; message?: unknown };
  if (typeof v.message !== 'string' || !('fields' in value)) return false;
  // Own keys only: `'toString' in CLASSES` is true.
  return typeof v.name === 'string' && (Object.hasOwn(CLASSES, v.name) || v.name === 'WebInferError') && typeof v.code === 'string';
}

/** Turns any thrown value into a {@link SerializedError} (causes included, depth-limited). */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error instanceof WebInferError) {
    return {
      __webinfer: 1,
      name: error.name,
      message: error.message,
      fields: { ...error.fields },
      ...(error.stack !== undefined ? { stack: error.stack } : {}),
      ...(error.cause !== undefined && depth < 4 ? { cause: serializeError(error.cause, depth + 1) } : {}),
    };
  }
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const e = error as Error;
    const name = typeof e.name === 'string' ? e.name : 'Error';
    const base = {
      __webinfer: 1 as const,
      // A foreign error keeps its name; only a DOMException 'AbortError' becomes our AbortError on the other side.
      foreign: true as const,
      name,
      message: String(e.message),
      fields: {},
      ...(typeof e.stack === 'string' ? { stack: e.stack } : {}),
    };
    const cause = (e as { cause?: unknown }).cause;
    return cause !== undefined && depth < 4 ? { ...base, cause: serializeError(cause, depth + 1) } : base;
  }
  return { __webinfer: 1, foreign: true, name: 'Error', message: String(error), fields: {} };
}

/** True when `value` has the shape of a {@link SerializedError}. */
export function isSerializedError(value: unknown): value is SerializedError {
  return typeof value === 'object' && value !== null && (value as { __webinfer?: unknown }).__webinfer === 1;
}

type AnyErrorClass = new (message: string, fields: never, options?: { cause?: unknown }) => WebInferError;

/** Rebuilds the error class from a {@link SerializedError}; unknown names become plain `Error`s. */
export function deserializeError(data: SerializedError): Error {
  const cause = data.cause ? deserializeError(data.cause) : undefined;
  const options = cause !== undefined ? { cause } : undefined;
  let error: Error;
  if (data.name === 'WebInferError') {
    error = new WebInferError(data.message, options);
  } else if (Object.hasOwn(CLASSES, data.name) && (data.foreign !== true || data.name === 'AbortError')) {
    const Cls = CLASSES[data.name as keyof typeof CLASSES] as unknown as AnyErrorClass;
    // A DOMException 'AbortError' from fetch() has no fields: give it ours.
    const fields = data.name === 'AbortError' ? { operation: 'unknown', ...data.fields } : data.fields;
    error = new Cls(data.message, fields as never, options);
  } else {
    error = new Error(data.message, options);
    error.name = data.name;
  }
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}
