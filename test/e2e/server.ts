/**
 * The e2e test server: serves the built package, the test pages and a
 * filesystem registry on 127.0.0.1, counts registry requests, and injects
 * faults (down, corrupted blobs, slow blobs, server errors) on demand.
 *
 * Two instances run in a test: `page` (optionally cross-origin isolated) and
 * `registry` (another origin, so CORS and CORP are exercised like a real CDN).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.map': 'application/json',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

export interface Faults {
  /** Every registry request fails (connection reset). */
  down: boolean;
  /** Blob hashes served with one byte flipped. */
  corrupt: Set<string>;
  /** Blob bodies are streamed in chunks of `slowChunk` bytes every `slowMs` ms. */
  slowMs: number;
  slowChunk: number;
  /** The next N registry requests answer 503. */
  fail503: number;
}

export interface TestServer {
  readonly url: string;
  readonly faults: Faults;
  /** Registry request counts by path (e.g. `v1/blobs/sha256/…`). */
  readonly hits: Map<string, number>;
  blobHits(): number;
  reset(): void;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** Static mounts: URL prefix → directory. */
  readonly mounts: Record<string, string>;
  /** Filesystem registry root, served under `/registry/`. */
  readonly registryRoot?: string;
  /** Cross-origin isolation headers on every response. */
  readonly coi?: boolean;
}

function freshFaults(): Faults {
  return { down: false, corrupt: new Set(), slowMs: 0, slowChunk: 4096, fail503: 0 };
}

export async function startServer(opts: ServerOptions): Promise<TestServer> {
  const faults = freshFaults();
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const pathname = decodeURIComponent(url.pathname);
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization');
    if (opts.coi) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    if (opts.registryRoot && pathname.startsWith('/registry/')) {
      const rel = pathname.slice('/registry/'.length);
      hits.set(rel, (hits.get(rel) ?? 0) + 1);
      if (faults.down) {
        req.socket.destroy();
        return;
      }
      if (faults.fail503 > 0) {
        faults.fail503--;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
        return;
      }
      serveFile(res, opts.registryRoot, rel, rel.startsWith('v1/blobs/') ? faults : undefined);
      return;
    }
    for (const [prefix, dir] of Object.entries(opts.mounts)) {
      if (pathname.startsWith(prefix)) {
        serveFile(res, dir, pathname.slice(prefix.length), undefined);
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  };

  const server: Server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    hits,
    blobHits: () => [...hits].filter(([k]) => k.startsWith('v1/blobs/')).reduce((s, [, n]) => s + n, 0),
    reset() {
      Object.assign(faults, freshFaults());
      hits.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

function serveFile(res: ServerResponse, dir: string, rel: string, faults: Faults | undefined): void {
  const file = path.resolve(dir, rel.replace(/^\/+/, '') || 'index.html');
  if (!file.startsWith(path.resolve(dir)) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const ext = path.extname(file);
  const type = MIME[ext] ?? (rel.includes('blobs/') ? 'application/octet-stream' : 'application/octet-stream');
  const size = statSync(file).size;
  const hash = path.basename(file);
  res.setHeader('content-type', type);
  res.setHeader('cache-control', 'no-store');
  if (faults && (faults.corrupt.has(hash) || faults.slowMs > 0)) {
    const chunks: Buffer[] = [];
    const stream = createReadStream(file);
    stream.on('data', (c) => chunks.push(c as Buffer));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      if (faults.corrupt.has(hash)) body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
      res.writeHead(200, { 'content-length': String(body.length) });
      if (faults.slowMs <= 0) {
        res.end(body);
        return;
      }
      let o = 0;
      const tick = (): void => {
        if (res.destroyed) return;
        const next = body.subarray(o, o + faults.slowChunk);
        o += next.length;
        if (o >= body.length) res.end(next);
        else {
          res.write(next);
          setTimeout(tick, faults.slowMs);
        }
      };
      tick();
    });
    return;
  }
  res.writeHead(200, { 'content-length': String(size) });
  createReadStream(file).pipe(res);
}
