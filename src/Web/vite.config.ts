import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { resolve } from 'node:path';

// Two entries, one build: the chat client at / and the admin console at /admin (src/Server/Web serves dist/).
export default defineConfig({
  plugins: [preact()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Fonts and images stay files: the Content-Security-Policy allows fonts and images from 'self' only, not data: URIs.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
    // dist/.vite/manifest.json: which chunks each entry loads (bench/web sums their gzipped size per entry).
    manifest: true,
    rollupOptions: {
      input: {
        client: resolve(import.meta.dirname, 'index.html'),
        admin: resolve(import.meta.dirname, 'admin/index.html'),
      },
    },
  },
  server: {
    // `npm run dev` talks to a server started with the README's run command.
    proxy: {
      '/v1': { target: 'http://127.0.0.1:8080', ws: true },
      '/healthz': 'http://127.0.0.1:8080',
    },
  },
});
