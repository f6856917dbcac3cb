/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The gateway serves the bundle at `/` with the API on the same origin. `npm run dev` proxies
// the API to a running `flowforge up` (FLOWFORGE_URL, default http://127.0.0.1:8000).
const api = process.env.FLOWFORGE_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false, manifest: true, chunkSizeWarningLimit: 700 },
  server: {
    proxy: Object.fromEntries(
      ["/api", "/healthz", "/openapi.json", "/docs"].map((p) => [p, { target: api }]),
    ),
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
  },
});
