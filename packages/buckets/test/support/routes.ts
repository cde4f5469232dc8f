import { buildApp } from "../../src/index.js";
import type { TestService } from "./service.js";

/**
 * "METHOD /path" of every route the app serves, read from express's own router: tests that must
 * cover every route (authorization, the OpenAPI document) fail when one is added without them.
 */
export function servedRoutes(t: TestService): string[] {
  const app = buildApp(t.service.ctx, t.service.keys, {
    claimer: () => Promise.reject(new Error("only walked, never served")),
    dispatcher: t.service.dispatcher,
  });
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route?.path}`)
        : walk(layer.handle?.stack ?? []),
    );
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
}
