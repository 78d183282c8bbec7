#!/usr/bin/env node
/**
 * `npm run demo`: publishes models/ into a local registry directory (.registry/) when
 * needed, then starts the Vite demo, cross-origin isolated (COOP/COEP, so WASM threads
 * are on), with that registry tree served as plain static files under /registry —
 * the same layout any web server or CDN can host. Prints the URL.
 *
 *   PORT=5173 npm run demo
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { registryStatic } from './demo-registry.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.join(repo, '.registry');

execFileSync(process.execPath, [path.join(repo, 'node_modules/tsx/dist/cli.mjs'), path.join(repo, 'scripts/publish-fixtures.ts'), root], { stdio: 'inherit' });

const server = await createServer({
  configFile: path.join(repo, 'vite.config.ts'),
  mode: 'demo',
  plugins: [registryStatic(root)],
  server: { port: Number(process.env.PORT ?? 5173), host: process.env.HOST ?? '127.0.0.1' },
});
await server.listen();
const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${server.config.server.port}/`;
console.log(`\nwebinfer demo: ${url}\n(registry: ${url}registry/v1/models.json, tree in ${path.relative(repo, root)}/)\nCtrl+C to stop.`);
