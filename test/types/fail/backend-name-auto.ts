// expect-error: TS2322 'auto' is a BackendPreference, not the name of a running backend
import type { BackendName } from '../../../src/index.js';
const running: BackendName = 'auto';
