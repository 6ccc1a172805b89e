// The layering of docs/architecture.md, checked by `npm run lint`: entry points (http/, web/, cli/) call capability
// modules, which call store/ and each other without cycles; nothing below an entry point imports one; migrations
// never import domain code. Type-only imports are erased before the code runs and do not count.
const ENTRY = '^src/(http|web|cli)/';
const CAPABILITY = '^src/(access|accounts|tokens|packages|trust|safety|names|disclosure|notify|tarball|crypto|client|upstream|import)/';

// Capability folders, lowest first: a folder imports only folders of its own layer or below, so no two folders can
// import each other, however long the way round.
const LAYERS = [
  ['store', 'crypto', 'tarball', 'names'],
  ['tokens', 'trust'],
  ['access'],
  ['accounts'],
  ['safety'],
  ['notify', 'packages', 'disclosure'],
  ['upstream', 'import'],
];
const folders = (layers) => `^src/(${layers.flat().join('|')})/`;
const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.join('-')}`,
  severity: 'error',
  comment: `${layer.join(', ')} may not import a higher layer (${LAYERS.slice(i + 1).flat().join(', ')})`,
  from: { path: folders([layer]) },
  to: { path: folders(LAYERS.slice(i + 1)), dependencyTypesNot: ['type-only'] },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'modules that import each other, directly or around a loop, cannot be read or tested one at a time',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'only-entry-points-import-entry-points',
      severity: 'error',
      comment: 'capability modules and store/ are called by entry points; they never import one (nor a page template)',
      from: { path: '^src/', pathNot: `${ENTRY}|^src/app\\.ts$` },
      to: { path: ENTRY, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'capabilities-know-no-http',
      severity: 'error',
      comment:
        'the rules (access/ above all: the write gate, the second-factor policy) and the capabilities do not depend on the web framework or an entry point, not even for a type; http/ and web/ adapt requests to them',
      from: { path: `${CAPABILITY}|^src/store/` },
      to: { path: `${ENTRY}|^node_modules/(fastify|@fastify/)` },
    },
    {
      name: 'store-imports-domain',
      severity: 'error',
      comment: 'store/ (schema, migrations, dialects, blobs, events) sits below everything; a migration must not change when domain code does',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: '^src/(store/|errors\\.ts$|config\\.ts$)', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'api-imports-pages',
      severity: 'error',
      comment: 'the npm protocol and JSON API (http/) do not depend on the web UI (web/); app.ts assembles both',
      from: { path: '^src/http/' },
      to: { path: '^src/web/', dependencyTypesNot: ['type-only'] },
    },
    ...layerRules,
    {
      name: 'layers-are-complete',
      severity: 'error',
      comment: 'every capability folder has its place in LAYERS',
      from: { path: CAPABILITY, pathNot: folders(LAYERS) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // npm packages stay in the graph as leaves (not followed), so a rule can name one (capabilities-know-no-http).
    exclude: { path: '^dist/' },
  },
};
