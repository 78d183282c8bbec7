// Makes the registry CLI executable after tsc wrote it (tsc keeps the shebang, not the mode).
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
