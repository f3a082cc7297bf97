// The console serves ui/dist itself (operator_console/static.py); `npm run dev` proxies the
// API to a console on 127.0.0.1:8080 for working on the UI with hot reload.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/daemon": "http://127.0.0.1:8080",
    },
  },
});
