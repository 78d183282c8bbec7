// expect-error: TS2554 createClient() needs its options
import { createClient } from '../../../src/index.js';
createClient();
