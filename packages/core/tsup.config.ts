import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'tokenization/tokenize-worker': 'src/tokenization/tokenize-worker.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  define: { __PACKAGE_VERSION__: JSON.stringify(process.env.npm_package_version ?? '0.0.0') },
});
