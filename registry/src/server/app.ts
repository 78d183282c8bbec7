/**
 * The registry service as a hono app: protocol v1 reads exactly as the static tree serves them
 * (plus ETags, ranges, CORS/CORP), and authenticated writes — blob upload, publish, alias moves
 * with optimistic concurrency, rollback, yank, gc. hono's handler is Web-standard
 * (`Request` → `Response`): `serve.ts` runs it on Node; the same app runs on edge runtimes given a
 * store there.
 *
 * @example
 * const { app } = createRegistryApp({ root: '.registry' });
 * const res = await app.request('/v1/models.json');   // Response 200, application/json
 */
import { timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { cors } from 'hono/cors';
import { ALIAS_RE, check, Catalog, MODEL_ID_RE, SEMVER_RE, SHA256_RE } from 'webinfer/protocol';
import { paths } from 'webinfer/protocol';
import { commitVersion } from '../publish.js';
import { etagMatches, etagOf, gc, listManifests, manifestFor, moveAlias, readIndexWithEtag, rollbackAlias, yankVersion } from '../ops.js';
import { RegistryStore, RegistryStoreError, type LockOptions, type RegistryErrorCode } from '../store.js';
import { hasScope, TokenStore, type Scope, type TokenRecord } from '../tokens.js';
import { createMetrics, routeOf, type ServiceMetrics } from './metrics.js';

/**
 * Options of the registry service ({@link createRegistryApp}, `startRegistryServer`).
 *
 * @example
 * createRegistryApp({ root: '.registry', maxBlobBytes: 512 * 1024 ** 2, uploadStallMs: 10_000, log: (e) => console.log(e) });
 */
export interface RegistryServiceOptions {
  /** Registry root directory (the same tree `webinfer-registry publish --root` writes). */
  root: string;
  /** Largest accepted blob upload, bytes. Default 4 GiB. */
  maxBlobBytes?: number;
  /** Largest accepted JSON body, bytes. Default 1 MiB. */
  maxJsonBytes?: number;
  /** An upload that sends no byte for this long is refused with 408 (ms). Default 30 000. */
  uploadStallMs?: number;
  /** Structured log sink (access and audit lines). Default: one JSON line per entry on stdout. */
  log?: (entry: Record<string, unknown>) => void;
  /** Node process metrics (CPU, memory, event loop) in /metrics. Default true. */
  defaultMetrics?: boolean;
  /** How writes wait for the registry lock; a write that cannot get it is answered 503 `LOCKED`. Default: up to 10 s. */
  lock?: LockOptions;
  /** A JSON body (publish, alias moves, yank) that has not fully arrived after this long is refused with 408 (ms). Default 30 000. */
  bodyTimeoutMs?: number;
  /**
   * Per client address: at most `requests` requests per `windowMs` (default 1000 ms); beyond, `429 RATE_LIMITED`
   * with `Retry-After`. Default: no limit (behind a CDN or proxy every request comes from a few addresses: limit there).
   */
  rateLimit?: { requests: number; windowMs?: number };
  /**
   * Failed authentications (an unknown, revoked or malformed bearer token) a client address may make per minute;
   * past that, its requests with a token are refused with `429 AUTH_THROTTLED` for a minute. Default 10; 0 turns it off.
   */
  authFailuresPerMinute?: number;
  /** When set, `/metrics` requires `Authorization: Bearer <metricsToken>` (401 otherwise). Default: open. */
  metricsToken?: string;
}

/** A 4xx/5xx answer: `{ "error": { "code", "message" } }`. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 408 | 409 | 412 | 413 | 415 | 416 | 422 | 428 | 429 | 502 | 503,
    readonly code: string,
    message: string,
    /** Extra headers of the answer (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STORE_STATUS: Record<RegistryErrorCode, [HttpError['status'], string]> = {
  EXISTS: [409, 'EXISTS'],
  INVALID: [400, 'INVALID'],
  LOCKED: [503, 'LOCKED'],
  NOT_FOUND: [404, 'NOT_FOUND'],
  CONFLICT: [409, 'CONFLICT'],
  MISSING_BLOBS: [422, 'MISSING_BLOBS'],
  HASH_MISMATCH: [422, 'HASH_MISMATCH'],
  TOO_LARGE: [413, 'TOO_LARGE'],
  TIMEOUT: [408, 'TIMEOUT'],
  PRECONDITION: [412, 'PRECONDITION_FAILED'],
  // Not raised by the store the service runs on; listed so that every code has its answer.
  UNAUTHORIZED: [401, 'UNAUTHORIZED'],
  FORBIDDEN: [403, 'FORBIDDEN'],
  UNREACHABLE: [502, 'UNREACHABLE'],
  READ_ONLY: [405, 'READ_ONLY'],
};

const DOC_CACHE = 'public, no-cache';
const MANIFEST_CACHE = 'public, max-age=60';
const BLOB_CACHE = 'public, max-age=31536000, immutable';
const PRIVATE_CACHE = 'private, no-cache';

type Env = { Bindings: Partial<HttpBindings> | undefined; Variables: { token: TokenRecord | undefined } };

/** The Node request and response under a hono context, when the app runs on `@hono/node-server`. */
const nodeOf = (c: Context<Env>): Partial<HttpBindings> => (c.env as Partial<HttpBindings> | undefined) ?? {};
/** The client's address (the key of the per-client limits); `local` when not on Node (`app.request()`). */
const clientOf = (c: Context<Env>): string => nodeOf(c).incoming?.socket?.remoteAddress ?? 'local';
/** The client went away before the answer was complete (hung up, aborted the upload or the download). */
const clientGone = (c: Context<Env>): boolean => {
  const { incoming, outgoing } = nodeOf(c);
  return c.req.raw.signal.aborted || (incoming !== undefined && incoming.destroyed && !incoming.complete) || (outgoing !== undefined && outgoing.destroyed && !outgoing.writableFinished);
};
/** Status logged and counted for a request the client abandoned (nginx's convention): never a 500. */
export const CLIENT_CLOSED = 499;

const param = (c: Context<Env>, name: string): string => c.req.param(name) ?? '';

function modelId(raw: string): string {
  if (!MODEL_ID_RE.test(raw) || raw.includes('..')) throw new HttpError(400, 'INVALID_ID', `invalid model id "${raw}" (lower-case letters, digits, '.', '_', '-'; 1–64 chars)`);
  return raw;
}
function semver(raw: string): string {
  if (!SEMVER_RE.test(raw)) throw new HttpError(400, 'INVALID_VERSION', `invalid version "${raw}" (a semantic version such as 1.2.0)`);
  return raw;
}
function aliasName(raw: string): string {
  if (!ALIAS_RE.test(raw)) throw new HttpError(400, 'INVALID_ALIAS', `invalid alias "${raw}" (lower-case letter first, then letters, digits, '-')`);
  return raw;
}
function blobHash(raw: string): string {
  if (!SHA256_RE.test(raw)) throw new HttpError(400, 'INVALID_HASH', `invalid sha256 "${raw}" (64 lower-case hex digits)`);
  return raw;
}
/** `{version}.json` → version. */
function versionFile(raw: string): string {
  if (!raw.endsWith('.json')) throw new HttpError(404, 'NOT_FOUND', `no such document "${raw}"`);
  return semver(raw.slice(0, -5));
}

/** A Web stream as an async iterable whose `return()` cancels the stream (typed without DOM's iterator). */
function iterate(stream: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const reader = stream.getReader();
      return {
        next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
        return: async () => {
          await reader.cancel().catch(() => undefined);
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** Reads a request body as JSON, at most `max` bytes (413 beyond, 400 when malformed), within `timeoutMs` (408 after). */
async function readJsonBody(c: Context<Env>, max: number, optional = false, timeoutMs = 30_000): Promise<unknown> {
  const len = Number(c.req.header('content-length') ?? NaN);
  if (Number.isFinite(len) && len > max) throw new HttpError(413, 'TOO_LARGE', `body of ${len} bytes exceeds the limit of ${max}`);
  const body = c.req.raw.body;
  if (!body) {
    if (optional) return undefined;
    throw new HttpError(400, 'INVALID_JSON', 'a JSON body is required');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new HttpError(408, 'TIMEOUT', `the request body did not arrive within ${timeoutMs} ms`));
      void reader.cancel().catch(() => undefined);
    }, timeoutMs);
  });
  let timedOut = false;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), deadline]);
      if (timedOut) throw new HttpError(408, 'TIMEOUT', `the request body did not arrive within ${timeoutMs} ms`);
      if (done) break;
      size += value.length;
      if (size > max) {
        void reader.cancel().catch(() => undefined);
        throw new HttpError(413, 'TOO_LARGE', `body exceeds the limit of ${max} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (size === 0) {
    if (optional) return undefined;
    throw new HttpError(400, 'INVALID_JSON', 'a JSON body is required');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (e) {
    throw new HttpError(400, 'INVALID_JSON', `body is not valid JSON: ${(e as Error).message}`);
  }
}

/** Parses a single `Range: bytes=…` against `size`; `undefined` = whole body; `null` = unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined; // multiple or unknown ranges: serve the whole body (allowed by RFC 9110)
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

/**
 * Creates the service. Returns the hono app and its metrics registry.
 *
 * @example
 * const { app } = createRegistryApp({ root: '.registry' });
 * const res = await app.request('/v1/models.json');   // Response 200
 */
export function createRegistryApp(opts: RegistryServiceOptions): { app: Hono<Env>; metrics: ServiceMetrics; store: RegistryStore; tokens: TokenStore } {
  const store = new RegistryStore(opts.root);
  const tokens = new TokenStore(opts.root);
  const metrics = createMetrics(opts.defaultMetrics === false ? { defaultMetrics: false } : {});
  const maxBlob = opts.maxBlobBytes ?? 4 * 1024 ** 3;
  const maxJson = opts.maxJsonBytes ?? 1024 * 1024;
  const stallMs = opts.uploadStallMs ?? 30_000;
  const log = opts.log ?? ((e: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(e)}\n`));
  const lock = opts.lock ? { lock: opts.lock } : {};
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? 30_000;
  const rate = opts.rateLimit && opts.rateLimit.requests > 0 ? opts.rateLimit : undefined;
  // rate-limiter-flexible's in-memory limiters (fixed windows, per key): requests, and failed authentications.
  const requestLimiter = rate ? new RateLimiterMemory({ keyPrefix: 'req', points: rate.requests, duration: (rate.windowMs ?? 1000) / 1000 }) : undefined;
  const authFailures = opts.authFailuresPerMinute ?? 10;
  const authLimiter = authFailures > 0 ? new RateLimiterMemory({ keyPrefix: 'auth', points: authFailures, duration: 60, blockDuration: 60 }) : undefined;
  const metricsToken = opts.metricsToken;
  const app = new Hono<Env>();

  /** Blobs referenced only by private models (they need a `read` token), cached until the catalogue changes. */
  let privateBlobs: { key: string; set: Set<string> } | undefined;
  async function privateOnlyBlobs(): Promise<Set<string>> {
    const st = await fs.stat(store.abs(paths.catalog())).catch(() => undefined);
    const key = st ? `${st.mtimeMs}:${st.size}` : 'none';
    if (privateBlobs?.key === key) return privateBlobs.set;
    const pub = new Set<string>();
    const priv = new Set<string>();
    for (const { manifest, private: p } of await listManifests(store)) {
      for (const v of Object.values(manifest.variants)) for (const f of (v as { files: Array<{ sha256: string }> }).files) (p ? priv : pub).add(f.sha256);
    }
    const set = new Set([...priv].filter((h) => !pub.has(h)));
    privateBlobs = { key, set };
    return set;
  }

  function requireScope(c: Context<Env>, scope: Scope): TokenRecord {
    const t = c.get('token');
    if (!t) throw new HttpError(401, 'UNAUTHORIZED', `a bearer token with scope "${scope}" is required (Authorization: Bearer …)`);
    if (!hasScope(t.scopes, scope)) throw new HttpError(403, 'FORBIDDEN', `token "${t.name}" lacks scope "${scope}" (has ${t.scopes.join(', ')})`);
    return t;
  }

  const audit = (c: Context<Env>, action: string, target: string, extra: Record<string, unknown> = {}): void => {
    log({ type: 'audit', time: new Date().toISOString(), token: c.get('token')?.name ?? null, action, target, ...extra });
  };

  // --- cross-cutting: logs, metrics, CORS/CORP, auth, path hygiene --------------------------
  app.use('*', async (c, next) => {
    const t0 = process.hrtime.bigint();
    const url = new URL(c.req.url);
    const route = routeOf(url.pathname);
    await next();
    const res = c.res;
    const declared = c.req.method === 'HEAD' ? 0 : Number(res.headers.get('content-length') ?? 0);
    /** Counts and logs the request once its answer is done: status and bytes as the client got them. */
    const finish = (status: number, bytes: number, aborted: boolean): void => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      metrics.requests.inc({ route, method: c.req.method, status: String(status) });
      metrics.duration.observe({ route, method: c.req.method }, seconds);
      if (bytes > 0) metrics.bytes.inc({ route }, bytes);
      if (route !== 'metrics' && route !== 'healthz') {
        log({ type: 'access', time: new Date().toISOString(), method: c.req.method, path: url.pathname, route, status, bytes, ms: Math.round(seconds * 1e4) / 10, token: c.get('token')?.name ?? null, ...(aborted ? { aborted: true } : {}) });
      }
    };
    const { outgoing } = nodeOf(c);
    if (!outgoing || !res.body || declared < 64 * 1024) {
      finish(res.status, declared, res.status === CLIENT_CLOSED);
      return;
    }
    // A large body (a blob): count what is actually sent, and log when the response closes, so a download the
    // client aborts is logged as 499 with the bytes sent, not as a full 200.
    let sent = 0;
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          sent += chunk.byteLength;
          ctl.enqueue(chunk);
        },
      }),
    );
    c.res = new Response(counted, { status: res.status, headers: res.headers });
    outgoing.once('close', () => {
      const complete = outgoing.writableFinished;
      finish(complete ? res.status : CLIENT_CLOSED, sent, !complete);
    });
  });
  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('Cross-Origin-Resource-Policy', 'cross-origin');
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
  });
  app.use(
    '*',
    cors({
      origin: '*',
      allowMethods: ['GET', 'HEAD', 'PUT', 'POST', 'OPTIONS'],
      allowHeaders: ['Authorization', 'If-None-Match', 'If-Match', 'Range', 'Content-Type'],
      exposeHeaders: ['ETag', 'Content-Length', 'Content-Range', 'Accept-Ranges'],
      maxAge: 600,
    }),
  );
  app.use('*', async (c, next) => {
    // Path traversal, however spelled: '..' segments, encoded slashes/dots/NULs, backslashes.
    const raw = new URL(c.req.url).pathname;
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, 'INVALID_PATH', 'malformed percent-encoding in the path');
    }
    if (/(^|\/)\.\.?(\/|$)/.test(decoded) || decoded.includes('\\') || decoded.includes('\0') || /%2f|%5c|%00/i.test(raw) || decoded.includes('//')) {
      throw new HttpError(400, 'INVALID_PATH', `invalid path "${raw}"`);
    }
    // The path as the client sent it: the URL parser has already resolved literal '.' and '..' segments (and
    // their %2e spellings), which must be refused, not quietly normalised into another resource.
    const sent = nodeOf(c).incoming?.url;
    if (sent !== undefined) {
      const sentPath = sent.split('?')[0] ?? '';
      let sentDecoded = sentPath;
      try {
        sentDecoded = decodeURIComponent(sentPath);
      } catch {
        throw new HttpError(400, 'INVALID_PATH', 'malformed percent-encoding in the path');
      }
      if (/(^|\/)\.\.?(\/|$)/.test(sentDecoded) || sentDecoded.includes('\\') || sentDecoded.includes('//')) {
        throw new HttpError(400, 'INVALID_PATH', `invalid path "${sentPath}": '.' and '..' segments are refused`);
      }
    }
    if (requestLimiter) {
      try {
        await requestLimiter.consume(clientOf(c));
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) throw e;
        const retry = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
        throw new HttpError(429, 'RATE_LIMITED', `too many requests from this client (limit ${rate!.requests} per ${rate!.windowMs ?? 1000} ms); retry in ${retry} s`, { 'Retry-After': String(retry) });
      }
    }
    const auth = c.req.header('authorization');
    const metricsRoute = metricsToken !== undefined && new URL(c.req.url).pathname === '/metrics';
    if (auth !== undefined && !metricsRoute) {
      const client = clientOf(c);
      if (authLimiter) {
        const r = await authLimiter.get(client);
        if (r !== null && r.consumedPoints >= authFailures) {
          const retry = Math.max(1, Math.ceil(r.msBeforeNext / 1000));
          throw new HttpError(429, 'AUTH_THROTTLED', `too many failed authentications from this client; retry in ${retry} s`, { 'Retry-After': String(retry) });
        }
      }
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const rec = m ? await tokens.verify(m[1]!) : undefined;
      if (!rec) {
        if (authLimiter) await authLimiter.consume(client).catch(() => undefined);
        throw new HttpError(401, 'INVALID_TOKEN', 'the bearer token is unknown, revoked or malformed');
      }
      c.set('token', rec);
    }
    await next();
  });

  app.onError((e, c) => {
    let status: HttpError['status'] | 500 | typeof CLIENT_CLOSED = 500;
    let code = 'INTERNAL';
    let message = 'internal error';
    if (e instanceof HttpError) [status, code, message] = [e.status, e.code, e.message];
    else if (e instanceof RegistryStoreError) {
      const [s, k] = STORE_STATUS[e.code];
      [status, code, message] = [s, k, e.message];
    } else if (clientGone(c)) {
      // The client hung up (an aborted upload): nobody to answer, and not a fault of the service.
      [status, code, message] = [CLIENT_CLOSED, 'CLIENT_CLOSED', 'the client closed the connection before the request was complete'];
    } else log({ type: 'error', time: new Date().toISOString(), message: String((e as Error)?.stack ?? e) });
    const res = c.json({ error: { code, message } }, status as 500);
    res.headers.set('Cache-Control', 'no-store');
    if (e instanceof HttpError) for (const [k, v] of Object.entries(e.headers)) res.headers.set(k, v);
    if (status === 401) res.headers.set('WWW-Authenticate', 'Bearer realm="webinfer-registry"');
    return res;
  });
  app.notFound((c) => {
    const res = c.json({ error: { code: 'NOT_FOUND', message: `no such resource ${new URL(c.req.url).pathname}` } }, 404);
    res.headers.set('Cache-Control', 'no-store');
    return res;
  });

  // --- service endpoints ---------------------------------------------------------------------
  app.get('/healthz', async (c) => {
    // Readable root, nothing more: the answer is public, so it names no path of the machine.
    await fs.access(store.root);
    return c.json({ ok: true });
  });
  app.get('/metrics', async (c) => {
    if (metricsToken !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
      const given = Buffer.from(m?.[1] ?? '');
      const want = Buffer.from(metricsToken);
      if (given.length !== want.length || !timingSafeEqual(given, want)) throw new HttpError(401, 'UNAUTHORIZED', '/metrics needs the metrics token (Authorization: Bearer …)');
    }
    const text = await metrics.registry.metrics();
    return c.body(text, 200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
  });

  // --- reads -------------------------------------------------------------------------------
  /** Serves JSON bytes with a strong ETag, 304 on If-None-Match. */
  function sendJson(c: Context<Env>, bytes: Uint8Array, cacheControl: string): Response {
    const etag = etagOf(bytes);
    const headers: Record<string, string> = { ETag: etag, 'Cache-Control': cacheControl, Vary: 'Authorization' };
    if (etagMatches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(bytes.length) });
  }
  async function readDoc(rel: string, what: string): Promise<Buffer> {
    try {
      return await fs.readFile(store.abs(rel));
    } catch {
      throw new HttpError(404, 'NOT_FOUND', `${what} not found`);
    }
  }
  /** Whether a model is private, cached per index file version (mtime + size): one stat per read. */
  const privacy = new Map<string, { key: string; private: boolean }>();
  async function modelAccess(c: Context<Env>, id: string): Promise<boolean> {
    const st = await fs.stat(store.abs(paths.index(id))).catch(() => undefined);
    if (!st) throw new HttpError(404, 'NOT_FOUND', `model "${id}" not found`);
    const key = `${st.mtimeMs}:${st.size}`;
    let entry = privacy.get(id);
    if (entry?.key !== key) {
      entry = { key, private: (await readIndexWithEtag(store, id)).private };
      privacy.set(id, entry);
    }
    if (entry.private) requireScope(c, 'read');
    return entry.private;
  }

  app.get('/v1/models.json', async (c) => {
    const bytes = await readDoc(paths.catalog(), 'catalogue').catch(() => Buffer.from(`${JSON.stringify({ schema: 'webinfer.catalog/v1', models: [] }, null, 2)}\n`));
    const t = c.get('token');
    if (t && hasScope(t.scopes, 'read')) return sendJson(c, bytes, PRIVATE_CACHE);
    const r = check(Catalog, JSON.parse(bytes.toString('utf8')));
    if (!r.ok) throw new Error(`catalogue is invalid: ${r.issues.join('; ')}`);
    const models = r.value.models as Array<{ private?: unknown }>;
    if (!models.some((m) => m.private === true)) return sendJson(c, bytes, DOC_CACHE);
    const pub = { ...(JSON.parse(bytes.toString('utf8')) as object), models: models.filter((m) => m.private !== true) };
    return sendJson(c, Buffer.from(`${JSON.stringify(pub, null, 2)}\n`), DOC_CACHE);
  });
  app.get('/v1/models/:id/index.json', async (c) => {
    const id = modelId(param(c, 'id'));
    const priv = await modelAccess(c, id);
    return sendJson(c, await readDoc(paths.index(id), `model "${id}"`), priv ? PRIVATE_CACHE : DOC_CACHE);
  });
  app.get('/v1/models/:id/versions/:file', async (c) => {
    const id = modelId(param(c, 'id'));
    const file = param(c, 'file');
    if (file.endsWith('.sig.json')) {
      // The manifest's signatures (see registry/src/keys.ts): as immutable as the manifest.
      const version = semver(file.slice(0, -'.sig.json'.length));
      const priv = await modelAccess(c, id);
      return sendJson(c, await readDoc(paths.signatures(id, version), `signatures of ${id}@${version}`), priv ? PRIVATE_CACHE : MANIFEST_CACHE);
    }
    const version = versionFile(file);
    const priv = await modelAccess(c, id);
    return sendJson(c, await readDoc(paths.manifest(id, version), `${id}@${version}`), priv ? PRIVATE_CACHE : MANIFEST_CACHE);
  });
  app.get('/v1/blobs/sha256/:hash', async (c) => {
    const hash = blobHash(param(c, 'hash'));
    const file = store.abs(paths.blob(hash));
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) throw new HttpError(404, 'NOT_FOUND', `blob ${hash} not found`);
    const priv = (await privateOnlyBlobs()).has(hash);
    if (priv) requireScope(c, 'read');
    const etag = `"${hash}"`;
    const headers: Record<string, string> = {
      ETag: etag,
      'Cache-Control': priv ? 'private, max-age=31536000, immutable' : BLOB_CACHE,
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
    };
    if (etagMatches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
    let range = parseRange(c.req.header('range'), st.size);
    const ifRange = c.req.header('if-range');
    if (range && ifRange !== undefined && ifRange !== etag) range = undefined;
    if (range === null) return c.body(null, 416, { ...headers, 'Content-Range': `bytes */${st.size}` });
    const start = range?.start ?? 0;
    const end = range?.end ?? st.size - 1;
    const len = st.size === 0 ? 0 : end - start + 1;
    const h = { ...headers, 'Content-Length': String(len), ...(range ? { 'Content-Range': `bytes ${start}-${end}/${st.size}` } : {}) };
    const status = range ? 206 : 200;
    if (c.req.method === 'HEAD' || len === 0) return c.body(null, status, h);
    const body = Readable.toWeb(createReadStream(file, { start, end, highWaterMark: 1024 * 1024 })) as ReadableStream<Uint8Array>;
    return c.body(body, status, h);
  });

  // --- writes ------------------------------------------------------------------------------
  app.put('/v1/blobs/sha256/:hash', async (c) => {
    requireScope(c, 'publish');
    const hash = blobHash(param(c, 'hash'));
    const lenHeader = c.req.header('content-length');
    const len = lenHeader === undefined ? undefined : Number(lenHeader);
    if (len !== undefined && len > maxBlob) throw new HttpError(413, 'TOO_LARGE', `blob of ${len} bytes exceeds the limit of ${maxBlob}`);
    if (len !== undefined && (!Number.isInteger(len) || len < 0)) throw new HttpError(400, 'INVALID', 'bad Content-Length');
    // Present and intact: nothing to do. Present but corrupt: the upload replaces it (a repair).
    if ((await store.hasBlob(hash, len)) && (await store.blobIntact(hash))) {
      audit(c, 'blob.put', hash, { status: 200, created: false });
      return c.json({ sha256: hash, size: len ?? (await fs.stat(store.abs(paths.blob(hash)))).size, created: false }, 200);
    }
    const body = c.req.raw.body;
    if (!body) throw new HttpError(400, 'INVALID', 'the blob bytes are required as the request body');
    try {
      const r = await store.putBlobStream(iterate(body), { expectedSha256: hash, maxBytes: maxBlob, stallMs, ...(len !== undefined ? { expectedSize: len } : {}) });
      audit(c, 'blob.put', hash, { status: 201, size: r.size, created: r.created, ...(r.repaired ? { repaired: true } : {}) });
      return c.json({ sha256: r.sha256, size: r.size, created: r.created, ...(r.repaired ? { repaired: true } : {}) }, 201);
    } catch (e) {
      audit(c, 'blob.put', hash, { status: 'refused', reason: (e as Error).message });
      throw e;
    }
  });

  app.put('/v1/models/:id/versions/:file', async (c) => {
    requireScope(c, 'publish');
    const id = modelId(param(c, 'id'));
    const version = versionFile(param(c, 'file'));
    const aliases = (c.req.queries('alias') ?? []).map(aliasName);
    const priv = c.req.query('private') === 'true';
    const target = `${id}@${version}`;
    try {
      const doc = manifestFor(id, version, await readJsonBody(c, maxJson, false, bodyTimeoutMs));
      const r = await commitVersion(store, doc, { aliases, private: priv, ...lock });
      const { etag } = await readIndexWithEtag(store, id);
      audit(c, 'publish', target, { status: 201, aliases });
      return c.json({ id, version, aliases: r.index.aliases, index: r.index }, 201, { ETag: etag });
    } catch (e) {
      audit(c, 'publish', target, { status: 'refused', reason: (e as Error).message });
      if (e instanceof RegistryStoreError && e.code === 'INVALID') throw new HttpError(400, 'INVALID_MANIFEST', e.message);
      throw e;
    }
  });

  /** Alias moves require If-Match (the ETag of the index the caller decided on). */
  function ifMatch(c: Context<Env>): string {
    const v = c.req.header('if-match');
    if (!v) throw new HttpError(428, 'PRECONDITION_REQUIRED', 'send If-Match with the ETag of the model index you read (optimistic concurrency)');
    return v;
  }
  app.put('/v1/models/:id/aliases/:alias', async (c) => {
    requireScope(c, 'publish');
    const id = modelId(param(c, 'id'));
    const alias = aliasName(param(c, 'alias'));
    const target = `${id}@${alias}`;
    try {
      const expected = ifMatch(c);
      const body = await readJsonBody(c, maxJson, false, bodyTimeoutMs);
      const version = (body as { version?: unknown } | null)?.version;
      if (typeof version !== 'string') throw new HttpError(400, 'INVALID', 'body must be {"version": "x.y.z"}');
      const r = await moveAlias(store, id, alias, semver(version), { ifMatch: expected, ...lock });
      audit(c, 'promote', target, { status: 200, change: r.change });
      return c.json({ id, alias, version, change: r.change, index: r.index }, 200, { ETag: r.etag });
    } catch (e) {
      audit(c, 'promote', target, { status: 'refused', reason: (e as Error).message });
      throw e;
    }
  });
  app.post('/v1/models/:id/aliases/:alias/rollback', async (c) => {
    requireScope(c, 'publish');
    const id = modelId(param(c, 'id'));
    const alias = aliasName(param(c, 'alias'));
    const target = `${id}@${alias}`;
    try {
      const r = await rollbackAlias(store, id, alias, { ifMatch: ifMatch(c), ...lock });
      audit(c, 'rollback', target, { status: 200, change: r.change });
      return c.json({ id, alias, version: r.index.aliases[alias], change: r.change, index: r.index }, 200, { ETag: r.etag });
    } catch (e) {
      audit(c, 'rollback', target, { status: 'refused', reason: (e as Error).message });
      throw e;
    }
  });
  app.post('/v1/models/:id/versions/:version/yank', async (c) => {
    requireScope(c, 'admin');
    const id = modelId(param(c, 'id'));
    const version = semver(param(c, 'version'));
    const target = `${id}@${version}`;
    try {
      const body = await readJsonBody(c, maxJson, true, bodyTimeoutMs);
      const yanked = (body as { yanked?: unknown } | undefined)?.yanked ?? true;
      if (typeof yanked !== 'boolean') throw new HttpError(400, 'INVALID', 'body must be {"yanked": true|false}');
      const ifm = c.req.header('if-match');
      const r = await yankVersion(store, id, version, { yanked, ...(ifm ? { ifMatch: ifm } : {}), ...lock });
      audit(c, yanked ? 'yank' : 'unyank', target, { status: 200 });
      return c.json({ id, version, yanked, change: r.change, index: r.index }, 200, { ETag: r.etag });
    } catch (e) {
      audit(c, 'yank', target, { status: 'refused', reason: (e as Error).message });
      throw e;
    }
  });
  app.post('/v1/admin/gc', async (c) => {
    requireScope(c, 'admin');
    const q = c.req.query('minAgeMs');
    const minAgeMs = q === undefined ? undefined : Number(q);
    if (minAgeMs !== undefined && (!Number.isFinite(minAgeMs) || minAgeMs < 0)) throw new HttpError(400, 'INVALID', 'minAgeMs must be a number ≥ 0');
    const r = await gc(store, { ...(minAgeMs !== undefined ? { minAgeMs } : {}), dryRun: c.req.query('dryRun') === 'true', ...lock });
    audit(c, 'gc', 'registry', { status: 200, temp: r.temp.length, orphans: r.orphans.length, bytes: r.bytes });
    return c.json(r, 200);
  });

  return { app, metrics, store, tokens };
}
