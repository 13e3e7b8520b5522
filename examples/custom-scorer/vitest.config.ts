import { defineProject } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources, so tests need no build.
const conditions = ['@llmd/source', 'module', 'node', 'development|production'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@llmd/source'] } },
  test: {
    name: '@example/custom-scorer',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
  },
});
