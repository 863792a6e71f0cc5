import { defineConfig } from 'vite';

/** Where `npm run dev:web` sends API calls: the API `npm start` runs, unless API_URL names another. */
const apiUrl = process.env.API_URL ?? 'http://127.0.0.1:3000';
const apiPaths = ['/v1', '/openapi.json', '/healthz', '/readyz'];

export default defineConfig({
  // Preact's JSX runtime (the tsconfig says the same for the type checker).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Hashed file names under assets/: the API serves them with a year-long, immutable cache.
    assetsDir: 'assets',
    target: 'es2022',
    // hls.js alone is ~580 kB (180 kB gzipped); it loads only on the player page.
    chunkSizeWarningLimit: 700,
  },
  server: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(apiPaths.map((prefix) => [prefix, { target: apiUrl, changeOrigin: false }])),
  },
});
