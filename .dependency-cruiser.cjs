/**
 * The layer rule of the browser package, checked by dependency-cruiser (`npm run check:layers`,
 * a step of `npm test`):
 *
 *   src/shared/   shared layer: errors, wire protocol, public types, the lists types derive from,
 *                 the registry protocol (webinfer/protocol). Imports nothing of the other layers.
 *   src/ (rest)   main thread: client, worker host, handles. Imports only src/shared.
 *   workers/      the worker: runtime, backend, tasks. Imports only src/shared.
 *
 * The worker URL (`new URL('../workers/runtime.worker.ts', import.meta.url)`) is not an import.
 * Browser code imports no Node built-in and nothing of the registry package.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'main-imports-worker',
      comment: 'Main-thread code imports only the shared layer (src/shared), never the worker.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/shared/' },
      to: { path: '^workers/' },
    },
    {
      name: 'worker-imports-main',
      comment: 'Worker code imports only the shared layer (src/shared), never main-thread code.',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^src/', pathNot: '^src/shared/' },
    },
    {
      name: 'shared-imports-a-side',
      comment: 'The shared layer imports neither the main thread nor the worker.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: '^(workers/|src/(?!shared/))' },
    },
    {
      name: 'browser-imports-node',
      comment: 'The browser package reaches no Node built-in.',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'browser-imports-registry',
      comment: 'The browser package never reaches the registry package (Node: service, CLI, publisher).',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { path: '^registry/|@webinfer/registry' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles in the browser package.',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'types', 'default'] },
    exclude: { path: '\\.d\\.ts$' },
  },
};
