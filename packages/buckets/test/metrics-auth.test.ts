import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aWork, startTestService, type TestService } from "./support/service.js";

let t: TestService;
let open: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename);
  open = await startTestService(import.meta.filename, { BUCKETS_METRICS_PUBLIC: "true" }, "public");
  await t.call("POST", "/work", {
    token: t.tokens.alice,
    body: [aWork({ pipeline: "secret-project" })],
  });
});
afterAll(async () => {
  await t.close();
  await open.close();
});

describe("/metrics", () => {
  it("needs a token with the metrics or admin scope: pipeline names are not for strangers", async () => {
    const anonymous = await t.call("GET", "/metrics", { token: null });
    expect(anonymous.status).toBe(401);
    expect(JSON.stringify(anonymous.body)).not.toContain("secret-project");
    const forged = await t.call("GET", "/metrics", { token: "not-a-token" });
    expect(forged.status).toBe(401);
    const reader = await t.call("GET", "/metrics", { token: t.tokens.alice });
    expect(reader.status).toBe(403);
    expect(JSON.stringify(reader.body)).toContain("metrics");

    const prometheus = await t.call("GET", "/metrics", {
      token: t.token("prometheus", ["metrics"]),
    });
    expect(prometheus.status).toBe(200);
    expect(String(prometheus.body)).toContain("buckets_http_request_duration_seconds");
    expect((await t.call("GET", "/metrics", { token: t.tokens.admin })).status).toBe(200);
  });

  it("a metrics token opens nothing else", async () => {
    const prometheus = t.token("prometheus", ["metrics"]);
    expect((await t.call("GET", "/status", { token: prometheus })).status).toBe(403);
    expect((await t.call("POST", "/view", { token: prometheus, body: {} })).status).toBe(403);
  });

  it("BUCKETS_METRICS_PUBLIC=true opens it on purpose", async () => {
    const anonymous = await open.call("GET", "/metrics", { token: null });
    expect(anonymous.status).toBe(200);
    expect(String(anonymous.body)).toContain("buckets_works");
  });

  it("the health endpoints stay open", async () => {
    for (const path of ["/livez", "/readyz", "/version", "/openapi.json"]) {
      expect((await t.call("GET", path, { token: null })).status, path).toBe(200);
    }
  });
});
