/** Serves the dashboard's built files, under a strict Content-Security-Policy. */

import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type RequestHandler, Router } from "express";
import { ServiceError } from "../errors.js";

/**
 * Where the build step puts the dashboard (scripts/build-ui.mjs): the package's dist/ui, whether
 * this module runs from dist/routes or (in tests) from src/routes.
 */
export const UI_DIR = join(import.meta.dirname, "..", "..", "dist", "ui");

/**
 * Same origin only, no inline script: the dashboard keeps its token in sessionStorage, so nothing
 * but its own bundle may run on the page. Styles may be inline (uPlot sizes its canvas with them).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const secure: RequestHandler = (_req, res, next) => {
  res.set({
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  next();
};

/**
 * The dashboard and the API's documentation page, served without a token: they are static files,
 * and every call they make for data sends the token the user pasted.
 */
export function uiRoutes(): Router {
  const router = Router();
  const page = (file: string): RequestHandler => {
    const path = join(UI_DIR, file);
    return (_req, res) => {
      if (!existsSync(path)) {
        throw new ServiceError(
          "unavailable",
          "the dashboard was not built with the service: run `npm run build`",
        );
      }
      res.set("cache-control", "no-cache").sendFile(path);
    };
  };
  router.get("/", (_req, res) => {
    res.redirect(302, "/ui");
  });
  router.get("/ui", secure, page("index.html"));
  router.get("/docs", secure, page("docs.html"));
  // The bundle's names do not change between builds: revalidate rather than cache for long.
  router.use(
    "/ui",
    secure,
    express.static(UI_DIR, { index: false, maxAge: 0, fallthrough: false }),
  );
  return router;
}
