// Enforces the layering of STYLE.md: imports point down, modules talk only through index.ts, and
// two modules on one layer do not import each other.
const layers = [
  ['programs', 'assets', 'organizations'],
  ['participants', 'ledger'],
  ['rules', 'tiers', 'rewards', 'transfers', 'groups'],
  // automations sit below events: the rule actions SCHEDULE_EVENT and BROADCAST make automations,
  // and automations write their events through a function the events module gives them.
  ['automations'],
  ['events', 'webhooks', 'reporting', 'logs'],
];

const upward = [];
for (const [index, layer] of layers.entries()) {
  const sameOrHigher = layers.slice(index).flat();
  for (const name of layer) {
    const forbidden = sameOrHigher.filter((other) => other !== name);
    upward.push({
      name: `no-upward-from-${name}`,
      comment: `${name} may import only modules on lower layers`,
      severity: 'error',
      from: { path: `^src/modules/${name}/` },
      to: { path: `^src/modules/(${forbidden.join('|')})/` },
    });
  }
}

module.exports = {
  forbidden: [
    {
      name: 'platform-imports-no-module',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/(modules/|app\\.ts|main\\.ts|cli\\.ts)' },
    },
    {
      name: 'modules-only-through-index',
      comment: 'another module is reached only through its index.ts',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index\\.ts$'] },
    },
    {
      name: 'routes-touch-no-store',
      comment: 'routes -> service -> store: routes never touch SQL',
      severity: 'error',
      from: { path: '\\.routes\\.ts$' },
      to: { path: '\\.store\\.ts$' },
    },
    {
      name: 'src-imports-no-test-code',
      comment: 'production code never loads the test harness or the test runner',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: ['^test/', '^node_modules/(vitest|@vitest/|fast-check/)'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
