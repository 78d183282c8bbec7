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
import { createReadStream, existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.join(repo, '.registry');

execFileSync(process.execPath, [path.join(repo, 'node_modules/tsx/dist/cli.mjs'), path.join(repo, 'scripts/publish-fixtures.ts'), root], { stdio: 'inherit' });

/** Serves the registry tree read-only, with the headers the protocol asks for. */
function registryStatic() {
  return {
    name: 'webinfer:demo-registry',
    configureServer(server) {
      server.middlewares.use('/registry', (req, res, next) => {
        const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
        const file = path.resolve(root, rel);
        if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) return next();
        const blob = rel.startsWith('v1/blobs/');
        res.setHeader('Content-Type', blob ? 'application/octet-stream' : 'application/json');
        res.setHeader('Cache-Control', blob ? 'public, max-age=31536000, immutable' : 'no-cache');
        res.setHeader('Access-Control-Allow-Origin', '*');
        res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
        createReadStream(file).pipe(res);
      });
    },
  };
}

const server = await createServer({
  configFile: path.join(repo, 'vite.config.ts'),
  mode: 'demo',
  plugins: [registryStatic()],
  server: { port: Number(process.env.PORT ?? 5173), host: process.env.HOST ?? '127.0.0.1' },
});
await server.listen();
const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${server.config.server.port}/`;
console.log(`\nwebinfer demo: ${url}\n(registry: ${url}registry/v1/models.json, tree in ${path.relative(repo, root)}/)\nCtrl+C to stop.`);
