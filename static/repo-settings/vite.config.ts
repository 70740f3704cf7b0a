import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Forge serves a resource under a sub-path of its own, so every asset URL is relative.
// One React: a package with its own nested react-dom (@atlaskit/pagination, under the
// dynamic table) must use the page's React 19, not bundle a second, older one.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: { dedupe: ['react', 'react-dom'] },
  build: { outDir: 'build', emptyOutDir: true },
});
