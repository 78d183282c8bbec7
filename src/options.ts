/**
 * Checks of the options every call shares (`signal`, `timeoutMs`), before any work starts:
 * a wrong value is an InvalidInputError (`reason: 'bad-option'`, the field named), never a raw
 * TypeError or a limit that silently means "none".
 */
import { InvalidInputError } from './shared/errors/invalid-input.js';

/**
 * `undefined` or an AbortSignal (also one of another realm: checked by shape).
 *
 * @example
 * checkSignal('signal', 'x'); // throws InvalidInputError: signal must be an AbortSignal, got string
 */
export function checkSignal(field: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  const v = value as Partial<AbortSignal> | null;
  if (typeof v !== 'object' || v === null || typeof v.aborted !== 'boolean' || typeof v.addEventListener !== 'function' || typeof v.removeEventListener !== 'function') {
    throw new InvalidInputError(`${field} must be an AbortSignal, got ${value === null ? 'null' : typeof value}`, { reason: 'bad-option', field });
  }
  return value as AbortSignal;
}

/**
 * `undefined` or a time limit in ms: a number > 0, `Infinity` meaning none. 0, negatives and NaN are refused.
 *
 * @example
 * checkTimeout('timeoutMs', 0); // throws InvalidInputError: timeoutMs must be a number of ms > 0 (Infinity: no limit), got 0
 */
export function checkTimeout(field: string, value: unknown, { finite = false } = {}): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (finite && !Number.isFinite(value))) {
    throw new InvalidInputError(`${field} must be a ${finite ? 'finite ' : ''}number of ms > 0${finite ? '' : ' (Infinity: no limit)'}, got ${String(value)}`, { reason: 'bad-option', field });
  }
  return value;
}
