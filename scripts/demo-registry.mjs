/**
 * A Vite plugin serving a filesystem registry tree read-only under /registry, with the
 * headers protocol v1 asks for (immutable blobs, no-cache documents, CORS/CORP).
 * Used by `npm run demo` and by the demo's browser test.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** @param {string} root absolute path of the registry tree */
export function registryStatic(root) {
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
