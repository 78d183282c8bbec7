/**
 * HTTP for the worker: bounded retries with exponential backoff and jitter on network
 * errors, 5xx and 429; a stall timeout per request; byte progress; the caller's
 * AbortSignal honoured at every step. Every failure becomes one of our errors.
 */
import { abortError } from '../src/shared/abort.js';
import { ModelNotFoundError } from '../src/shared/errors/model-not-found.js';
import { RegistryUnavailableError } from '../src/shared/errors/registry-unavailable.js';
import { IntegrityError } from '../src/shared/errors/integrity.js';

export interface NetOptions {
  readonly retries: number;
  /** No answer or no byte for this long aborts the request (then it is retried). Also the window of the throughput check. */
  readonly timeoutMs: number;
  /**
   * Throughput floor: a body that brings fewer than this many bytes per second, measured over each
   * `timeoutMs` window, is a stall (aborted and retried) even though bytes keep trickling in. 0: no floor.
   */
  readonly minBytesPerSecond?: number;
  readonly token?: string;
}

/** Raised for 404s; the caller turns it into the right `ModelNotFoundError`. */
export class NotFound extends Error {
  constructor(readonly url: string) {
    super(`404 Not Found: ${url}`);
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal, 'load'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortError(signal, 'load'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Fetches `url` and reads its body fully, reporting bytes as they arrive.
 * `expectedSize`, when known, bounds the body (a longer body is an IntegrityError, not a memory bomb).
 */
export async function fetchBytes(
  url: string,
  opts: NetOptions,
  signal: AbortSignal,
  onBytes?: (loaded: number) => void,
  expectedSize?: number,
  httpCache: RequestCache = 'no-cache',
): Promise<Uint8Array> {
  let lastError: unknown;
  let lastStatus: number | undefined;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (signal.aborted) throw abortError(signal, 'load');
    if (attempt > 0) await sleep(Math.min(4000, 150 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5), signal);
    const stall = new AbortController();
    const both = AbortSignal.any([signal, stall.signal]);
    let stallReason = `no data for ${opts.timeoutMs} ms`;
    let timer = setTimeout(() => stall.abort(), opts.timeoutMs);
    const kick = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), opts.timeoutMs);
    };
    // The throughput check: every window, the bytes of that window against the floor (a trickle
    // of one byte a second resets the no-data timer forever, but not this one).
    const floor = opts.minBytesPerSecond ?? 0;
    let received = 0;
    let atWindowStart = 0;
    let meter: ReturnType<typeof setInterval> | undefined;
    const startMeter = (): void => {
      if (floor <= 0) return;
      const need = (floor * opts.timeoutMs) / 1000;
      meter = setInterval(() => {
        const got = received - atWindowStart;
        atWindowStart = received;
        if (got < need) {
          stallReason = `${got} bytes in ${opts.timeoutMs} ms (below the floor of ${floor} bytes/s)`;
          stall.abort();
        }
      }, opts.timeoutMs);
    };
    try {
      const headers: Record<string, string> = {};
      if (opts.token) headers['Authorization'] = `Bearer ${opts.token}`;
      const res = await fetch(url, { signal: both, headers, cache: httpCache, credentials: 'omit' });
      if (res.status === 404 || res.status === 410) throw new NotFound(url);
      if (!res.ok) {
        lastStatus = res.status;
        if (isRetryableStatus(res.status)) {
          lastError = new Error(`HTTP ${res.status} from ${url}`);
          await res.body?.cancel();
          continue;
        }
        throw new RegistryUnavailableError(`registry answered HTTP ${res.status} for ${url}`, { url, status: res.status });
      }
      startMeter();
      const bytes = await readBody(res, url, both, (n) => {
        received = n;
        kick();
        onBytes?.(n);
      }, expectedSize);
      return bytes;
    } catch (e) {
      if (signal.aborted) throw abortError(signal, 'load');
      if (e instanceof NotFound || e instanceof RegistryUnavailableError || e instanceof IntegrityError) throw e;
      lastError = stall.signal.aborted ? new Error(`${stallReason} from ${url}`) : e;
    } finally {
      clearTimeout(timer);
      if (meter !== undefined) clearInterval(meter);
    }
  }
  throw new RegistryUnavailableError(
    `registry unreachable: ${url} failed after ${opts.retries + 1} attempts (${lastError instanceof Error ? lastError.message : String(lastError)})`,
    lastStatus !== undefined ? { url, status: lastStatus } : { url },
    { cause: lastError },
  );
}

async function readBody(res: Response, url: string, signal: AbortSignal, onBytes: (n: number) => void, expectedSize?: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const exact: Uint8Array | undefined = expectedSize !== undefined ? new Uint8Array(expectedSize) : undefined;
  // Do not rely on the platform to error a pending read on abort: cancel it ourselves.
  const onAbort = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) throw new DOMException('aborted', 'AbortError');
      const { done, value } = await reader.read();
      if (done) break;
      if (expectedSize !== undefined && loaded + value.byteLength > expectedSize) {
        throw new IntegrityError(`${url}: more bytes than the manifest's size ${expectedSize}`, {
          file: url,
          expected: `size ${expectedSize}`,
          actual: `size > ${expectedSize}`,
        });
      }
      if (exact) exact.set(value, loaded);
      else chunks.push(value);
      loaded += value.byteLength;
      onBytes(loaded);
    }
    if (signal.aborted) throw new DOMException('aborted', 'AbortError');
  } finally {
    signal.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
  if (exact) return loaded === exact.byteLength ? exact : exact.subarray(0, loaded);
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** Maps a NotFound for a model document to ModelNotFoundError. */
export function notFoundAsModel(e: unknown, model: string, version?: string): never {
  if (e instanceof NotFound) {
    throw new ModelNotFoundError(
      version ? `model "${model}" has no version ${version} in the registry` : `model "${model}" not found in the registry`,
      version ? { model, version } : { model },
    );
  }
  throw e;
}
