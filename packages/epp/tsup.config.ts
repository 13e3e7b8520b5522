import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', plugin: 'src/plugin/index.ts', testing: 'src/testing/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  define: { __PACKAGE_VERSION__: JSON.stringify(process.env.npm_package_version ?? '0.0.0') },
});
