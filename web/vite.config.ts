import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The build is committed (web/dist) and CI rebuilds it to compare: keep the
// output deterministic (content hashes only, no timestamps, no source maps).
export default defineConfig({
  plugins: [svelte()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` talks to a daemon through scripts/dev-proxy.mjs.
    proxy: {
      '^/(containers|images|events|info|version|exec|build|_ping|system|volumes|networks|skiff)': {
        target: 'http://127.0.0.1:7800',
        ws: true,
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
});
