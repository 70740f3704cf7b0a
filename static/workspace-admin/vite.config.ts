import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Forge serves a resource under a sub-path of its own, so every asset URL is relative.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  build: { outDir: 'build', emptyOutDir: true },
});
