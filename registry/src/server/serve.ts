/**
 * Runs the registry service on Node (`@hono/node-server`).
 *
 * @example
 * const s = await startRegistryServer({ root: '.registry', port: 8080 });
 * console.log(s.url);   // 'http://127.0.0.1:8080'
 * await s.close();
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
    const s = serve({ fetch: app.fetch, port: opts.port ?? 8080, hostname: host }, () => resolve(s as Server)) as Server;
    s.once('error', reject);
  });
  // Large uploads may take long: no overall request deadline; stalls are caught per upload instead.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
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
