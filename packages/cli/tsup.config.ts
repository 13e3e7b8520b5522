import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts', 'sim-pods-main': 'src/up/sim-pods-main.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  define: { __PACKAGE_VERSION__: JSON.stringify(process.env.npm_package_version ?? '0.0.0') },
});
