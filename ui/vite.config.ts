import path from 'node:path'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// The plugin's typed bindings live with the plugin (crates/sidecar-supervisor/guest-js); they
// resolve @tauri-apps/api from this package.
const here = path.dirname(new URL(import.meta.url).pathname)

export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  resolve: {
    alias: {
      'sidecar-supervisor-api': path.resolve(here, '../crates/sidecar-supervisor/guest-js/index.ts'),
      '@tauri-apps/api': path.resolve(here, 'node_modules/@tauri-apps/api'),
    },
  },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    setupFiles: ['src/test-setup.ts'],
  },
})
