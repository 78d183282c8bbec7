import type { Plugin } from 'vite';
/** A Vite plugin serving a filesystem registry tree read-only under /registry. */
export function registryStatic(root: string): Plugin;
