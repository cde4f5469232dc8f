import { expect, it } from "vitest";
import { servedRoutes } from "./support/routes.js";
import { useTestService } from "./support/service.js";

/** GET /openapi.json describes every route the service serves, and none it does not. */

const { t } = useTestService(import.meta.filename);

it("documents every served route and method, and only those", async () => {
  const answer = await t.call("GET", "/openapi.json", { token: null });
  expect(answer.status).toBe(200);
  const document = answer.body as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map(
      // Express writes /work/:id where OpenAPI writes /work/{id}.
      (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`,
    ),
  );
  // Express answers HEAD for every GET by itself: only what was routed counts.
  const served = servedRoutes(t).filter((route) => !route.startsWith("HEAD "));
  expect(documented.sort()).toEqual(served.sort());
});

it("every operation names its answers, and the schemas it refers to exist", async () => {
  const document = (await t.call("GET", "/openapi.json", { token: null })).body as {
    paths: Record<string, Record<string, { summary?: string; responses?: object }>>;
    components: { schemas: Record<string, unknown> };
  };
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      expect(operation.summary, `${method} ${path}`).toBeTruthy();
      expect(Object.keys(operation.responses ?? {}), `${method} ${path}`).not.toEqual([]);
    }
  }
  const refs = [...JSON.stringify(document).matchAll(/"#\/components\/schemas\/(\w+)"/g)].map(
    (match) => match[1] as string,
  );
  for (const name of new Set(refs)) expect(document.components.schemas, name).toHaveProperty(name);
});
