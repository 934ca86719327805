/**
 * Import boundaries of the project, checked in CI (`npm run lint:deps`). The layers, bottom up:
 * integration contract → bundle/state/governance/tools → runtime → build (the compiler) → cli.
 */
module.exports = {
  forbidden: [
    {
      name: 'runtime-never-imports-the-compiler',
      comment: 'The runtime loads bundles; it must run without the compiler (src/build, src/diagnostics).',
      severity: 'error',
      from: { path: '^src/(runtime|state|integration|tools|bundle|governance|adapters|console)/' },
      to: { path: '^src/(build|diagnostics)/' },
    },
    {
      name: 'nothing-imports-the-cli',
      comment: 'Only bin/botc.js starts the CLI; the library never prints or exits.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'integrations-import-only-botc-integration',
      comment: "Integration authors' code imports its own files, Node's built-ins and botc/integration only.",
      severity: 'error',
      from: { path: '^integrations/' },
      to: { dependencyTypesNot: ['core'], pathNot: '^(integrations/|src/integration/|lib/integration/)' },
    },
    {
      name: 'no-circular',
      comment: 'Cycles make the layers unreadable.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'types', 'default'] },
  },
};
