import { generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  aWork,
  startTestService,
  TEST_SECRET,
  type TestService,
  useTestService,
} from "./support/service.js";

const { t } = useTestService(import.meta.filename);

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const status = async (token: string | null, method = "GET", path = "/status", body?: unknown) =>
  (await t.call(method, path, { token, body })).status;

describe("tokens", () => {
  it("401 without a token, with a malformed one, a wrong secret, an expired one and alg none", async () => {
    expect(await status(null)).toBe(401);
    expect(await status("not-a-jwt")).toBe(401);
    expect(
      await status(jwt.sign({ sub: "alice", scopes: ["admin"] }, "another-secret-0123456789")),
    ).toBe(401);
    const expired = jwt.sign(
      { sub: "alice", scopes: ["admin"], exp: Math.floor(Date.now() / 1000) - 60 },
      TEST_SECRET,
    );
    const answer = await t.call("GET", "/status", { token: expired });
    expect(answer.status).toBe(401);
    expect(JSON.stringify(answer.body)).toContain("token expired");
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "alice", scopes: ["admin"] })}.`;
    expect(await status(none)).toBe(401);
    expect(await status(jwt.sign({ sub: "alice" }, TEST_SECRET))).toBe(401); // no scopes claim
  });

  it("a token accepted before stops working the moment it expires", async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = jwt.sign({ sub: "alice", scopes: ["admin"], exp }, TEST_SECRET);
    expect(await status(token)).toBe(200);
    expect(await status(token)).toBe(200);
    // Asked until refused: every answer before then is a 200, and the refusal comes past exp.
    for (;;) {
      const asked = Date.now() / 1000;
      const answer = await t.call("GET", "/status", { token });
      if (answer.status === 200) {
        expect(asked).toBeLessThan(exp);
        continue;
      }
      expect(answer.status).toBe(401);
      expect(Date.now() / 1000).toBeGreaterThanOrEqual(exp);
      expect(JSON.stringify(answer.body)).toContain("token expired");
      break;
    }
  });

  it("takes the token from x-access-token as well", async () => {
    const got = await t.call("GET", "/status", {
      token: null,
      headers: { "x-access-token": t.tokens.alice },
    });
    expect(got.status).toBe(200);
  });
});

describe("scopes and ownership", () => {
  it("403 when a scope is missing", async () => {
    const reader = t.token("carol", ["work:read"]);
    const got = await t.call("POST", "/work", { token: reader, body: [aWork({ user: "carol" })] });
    expect(got.status).toBe(403);
    expect(JSON.stringify(got.body)).toContain("work:deposit");
    expect(await status(t.tokens.alice, "POST", "/work/withdraw", { pipeline: "fit" })).toBe(403);
    expect(await status(t.tokens.alice, "GET", "/audit/failed")).toBe(403);
  });

  it("a non-admin deposits only as itself, and changes or deletes only its own works", async () => {
    expect(await status(t.tokens.alice, "POST", "/work", [aWork({ user: "bob" })])).toBe(403);
    const [id] = (
      await t.call("POST", "/work?return_ids=true", { token: t.tokens.alice, body: [aWork()] })
    ).body as string[];
    expect(await status(t.tokens.bob, "PUT", "/work", [{ id, priority: 5 }])).toBe(403);
    expect(await status(t.tokens.bob, "DELETE", `/work?ids=${id}`)).toBe(403);
    expect(await status(t.tokens.bob, "POST", `/work/${id}/cancel`)).toBe(403);
    expect(await status(t.tokens.alice, "PUT", "/work", [{ id, priority: 5 }])).toBe(200);
    expect(await status(t.tokens.admin, "PUT", "/work", [{ id, priority: 1 }])).toBe(200);
  });

  it("a worker may report on a work it claimed, not on someone's queued work", async () => {
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "held" }), aWork({ pipeline: "not-held" })],
    });
    const claimed = (
      await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: { pipeline: "held" } })
    ).body as { id: string; attempt: number };
    expect(
      await status(t.tokens.worker, "PUT", "/work", [
        { id: claimed.id, attempt: claimed.attempt, status: "success" },
      ]),
    ).toBe(200);
    const [queued] = (await t.call("POST", "/view", { body: { query: { pipeline: "not-held" } } }))
      .body as { id: string }[];
    expect(
      await status(t.tokens.worker, "PUT", "/work", [{ id: queued?.id, status: "success" }]),
    ).toBe(403);
  });

  it("a pipelines claim limits the token everywhere", async () => {
    const limited = t.token("alice", ["work:deposit", "work:read", "work:withdraw"], ["fit"]);
    expect(await status(limited, "POST", "/work", [aWork({ pipeline: "secret" })])).toBe(403);
    expect(await status(limited, "POST", "/work", [aWork({ pipeline: "fit" })])).toBe(200);
    expect(await status(limited, "POST", "/work/withdraw", { pipeline: "secret" })).toBe(403);
    expect(
      await status(limited, "POST", "/work/withdraw", { pipeline: { $in: ["fit", "secret"] } }),
    ).toBe(403);
    expect(await status(limited, "GET", "/status/details/secret")).toBe(403);
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline: "secret" })] });
    const seen = (await t.call("POST", "/view", { token: limited, body: { query: {} } })).body as {
      pipeline: string;
    }[];
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((w) => w.pipeline === "fit")).toBe(true);
    const pipelines = (await t.call("GET", "/status/pipelines", { token: limited }))
      .body as string[];
    expect(pipelines).toEqual(["fit"]);
  });
});

describe("RS256 keys", () => {
  let rsa: TestService;
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  beforeAll(async () => {
    rsa = await startTestService(
      import.meta.filename,
      {
        BUCKETS_JWT_SECRET: "",
        BUCKETS_JWT_PUBLIC_KEY: publicKey,
        BUCKETS_JWT_PRIVATE_KEY: privateKey,
      },
      "rsa",
    );
  });
  afterAll(() => rsa.close());

  it("verifies RS256 tokens and refuses an HS256 token signed with the public key", async () => {
    const good = jwt.sign({ sub: "alice", scopes: ["work:read"] }, privateKey, {
      algorithm: "RS256",
    });
    expect((await rsa.call("GET", "/status", { token: good })).status).toBe(200);
    const confused = jwt.sign({ sub: "alice", scopes: ["admin"] }, publicKey.replace(/\n/g, "\n"), {
      algorithm: "HS256",
    });
    expect((await rsa.call("GET", "/status", { token: confused })).status).toBe(401);
  });
});
