/**
 * Shared fixtures: a page server (plain and cross-origin isolated) and a registry
 * server on another origin, started per test file; a page opened on the harness.
 */
import { test as base, expect, type Page } from '@playwright/test';
import * as path from 'node:path';
import { REPO, startServer, type TestServer } from './server.js';

export const REGISTRY_ROOT = path.join(REPO, '.tmp/e2e-registry');

const mounts = {
  '/dist/': path.join(REPO, 'dist'),
  '/node_modules/comlink/': path.join(REPO, 'node_modules/comlink'),
  '/pages/': path.join(REPO, 'test/e2e/pages'),
  '/consumer/': path.join(REPO, 'test/consumer/dist'),
};

export interface Servers {
  page: TestServer;
  isolated: TestServer;
  registry: TestServer;
}

export interface OpenOptions {
  /** Serve the page cross-origin isolated (COOP/COEP). */
  coi?: boolean;
  /** Page path on the server; default `/pages/dist.html`. */
  path?: string;
  /** A JS expression that becomes true when the page is ready; default `window.harnessReady === true`. */
  ready?: string;
}

export const test = base.extend<{ registry: TestServer; open: (opts?: OpenOptions) => Promise<Page> }, { servers: Servers }>({
  servers: [
    async ({}, use) => {
      const servers = {
        page: await startServer({ mounts }),
        isolated: await startServer({ mounts, coi: true }),
        registry: await startServer({ mounts: {}, registryRoot: REGISTRY_ROOT }),
      };
      await use(servers);
      await Promise.all(Object.values(servers).map((s) => s.close()));
    },
    { scope: 'worker' },
  ],
  registry: async ({ servers }, use) => {
    servers.registry.reset();
    await use(servers.registry);
    servers.registry.reset();
  },
  open: async ({ page, servers }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await use(async (opts = {}) => {
      const server = opts.coi ? servers.isolated : servers.page;
      await page.goto(`${server.url}${opts.path ?? '/pages/dist.html'}`);
      if (opts.ready !== undefined) await page.waitForFunction(opts.ready);
      else await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
      return page;
    });
    expect(errors, 'uncaught errors on the page').toEqual([]);
  },
});

export { expect };

/** The registry URL as the page sees it. */
export const registryUrl = (s: TestServer): string => `${s.url}/registry`;
