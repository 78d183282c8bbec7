/**
 * Runs the registry service on Node (`@hono/node-server`).
 *
 * @example
 * const s = await startRegistryServer({ root: '.registry', port: 8080 });
 * console.log(s.url);   // 'http://127.0.0.1:8080'
 * await s.close();
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serve } from '@hono/node-server';
import { createRegistryApp, type RegistryServiceOptions } from './app.js';

/**
 * Options of {@link startRegistryServer}: the service options plus where to listen.
 *
 * @example
 * await startRegistryServer({ root: '.registry', host: '0.0.0.0', port: 8080, maxBlobBytes: 1024 ** 3 });
 */
export interface StartOptions extends RegistryServiceOptions {
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Interface. Default 127.0.0.1. */
  host?: string;
  /** A client that has not sent the complete request headers after this long is disconnected (ms). Default 30 000. */
  headersTimeoutMs?: number;
  /** Open connections one client address may hold; more are closed at once. Default 64; 0: no limit. */
  maxConnectionsPerClient?: number;
}

/**
 * A running service.
 *
 * @example
 * const s: RunningRegistry = await startRegistryServer({ root: '.registry', port: 0 });
 * await fetch(`${s.url}/healthz`);
 */
export interface RunningRegistry {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Closes a client's connections beyond `max` at once (per remote address). */
function limitConnectionsPerClient(server: Server, max: number): void {
  if (!(max > 0)) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const key = socket.remoteAddress ?? '?';
    const n = (open.get(key) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      return;
    }
    open.set(key, n);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left <= 0) open.delete(key);
      else open.set(key, left);
    });
  });
}

/**
 * Starts the registry service on Node and resolves once it listens.
 *
 * @example
 * const s = await startRegistryServer({ root: '.registry', port: 0 });
 * console.log(s.url);   // 'http://127.0.0.1:41235'
 * await s.close();
 */
export async function startRegistryServer(opts: StartOptions): Promise<RunningRegistry> {
  const { app } = createRegistryApp(opts);
  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const headersTimeout = opts.headersTimeoutMs ?? 30_000;
    const s = serve(
      {
        fetch: app.fetch,
        port: opts.port ?? 8080,
        hostname: host,
        // How often Node checks the headers deadline (its default, 30 s, would make a short deadline meaningless).
        serverOptions: { connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.round(headersTimeout / 4))) },
      },
      () => resolve(s as Server),
    ) as Server;
    s.once('error', reject);
  });
  // Large uploads may take long: no overall request deadline; stalls are caught per upload (uploadStallMs) and
  // JSON bodies have their own deadline (bodyTimeoutMs). Headers must arrive within headersTimeoutMs.
  server.requestTimeout = 0;
  server.headersTimeout = opts.headersTimeoutMs ?? 30_000;
  limitConnectionsPerClient(server, opts.maxConnectionsPerClient ?? 64);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
