import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Forge serves a resource under a sub-path of its own, so every asset URL is relative.
// One React: @atlaskit/pagination (under dynamic-table) brings its own nested
// react-dom 18, which breaks beside React 19.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: { dedupe: ['react', 'react-dom'] },
  build: { outDir: 'build', emptyOutDir: true },
});
