/**
 * `webinfer/protocol`: registry protocol v1, defined once. The browser worker validates
 * every document it fetches with these schemas; the registry package (`@webinfer/registry`:
 * service, CLI, publisher) validates every document it writes with the same ones.
 *
 * Pure TypeScript over valibot: no DOM, no Node, no tfjs.
 *
 * @example
 * import { check, Manifest, parseRef, paths } from 'webinfer/protocol';
 * parseRef('fashion-mnist-cnn@stable');          // { id: 'fashion-mnist-cnn', kind: 'alias', alias: 'stable' }
 * paths.manifest('fashion-mnist-cnn', '1.0.0');  // 'v1/models/fashion-mnist-cnn/versions/1.0.0.json'
 * check(Manifest, JSON.parse(text));             // { ok: true, value } or { ok: false, issues: ['task: …'] }
 */
export * from './schema.js';
export * from './refs.js';
export * from '../errors/index.js';
export * from '../quant/panels.js';
export * from '../quant/safetensors.js';
