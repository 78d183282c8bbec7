#!/usr/bin/env node
// `npx webinfer-copy-assets <dir>`: copies webinfer's worker, thread scripts and .wasm files into <dir>/assets/,
// for a bundle in <dir> built by a tool that does not copy `new URL(…, import.meta.url)` files.
import { copyAssets } from './index.mjs';

const dir = process.argv[2];
if (!dir || dir === '--help' || dir === '-h') {
  console.log('Usage: webinfer-copy-assets <dir>\n\nCopies webinfer\'s worker, thread scripts and .wasm files into <dir>/assets/ (the folder that holds your bundle).');
  process.exit(dir ? 0 : 1);
}
const files = copyAssets(dir);
console.log(`webinfer: copied ${files.length} files into ${dir.replace(/\/$/, '')}/assets/`);
