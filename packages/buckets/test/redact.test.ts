import { Writable } from "node:stream";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseName, uriFor } from "../../../test/support/db.js";
import { mintToken, type RunningService, readOptions, startService } from "../src/index.js";
import { createLogger } from "../src/logger.js";
import { TEST_SECRET } from "./support/service.js";

let service: RunningService;
let log = "";

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      log += String(chunk);
      done();
    },
  });
  const options = readOptions({
    PORT: "0",
    HOST: "127.0.0.1",
    MONGODB_URI: uriFor(databaseName(import.meta.filename)),
    BUCKETS_JWT_SECRET: TEST_SECRET,
  });
  // debug: the 2xx lines are logged too, not only the 4xx ones.
  service = await startService(options, { logger: createLogger("debug", sink) });
});
afterAll(() => service.close());

describe("logs", () => {
  it("never hold a token, whatever header it came in and whatever the answer", async () => {
    const good = mintToken(service.keys, { user: "alice", scopes: ["work:read"] });
    const forged = jwt.sign({ sub: "mallory", scopes: ["admin"] }, "not-the-secret-0123456789");
    const reader = mintToken(service.keys, { user: "carol", scopes: ["work:read"] });
    const sent: Array<[string, Record<string, string>]> = [
      ["/status", { authorization: `Bearer ${good}` }], // 200
      ["/status", { "x-access-token": good }], // 200
      ["/status", { authorization: `Bearer ${forged}` }], // 401
      ["/status", { "x-access-token": forged, cookie: `session=${forged}` }], // 401
      ["/audit/failed", { authorization: `Bearer ${reader}` }], // 403
      ["/no/such/route", { authorization: `Bearer ${good}`, cookie: `token=${good}` }], // 404
    ];
    const statuses = [];
    for (const [path, headers] of sent) {
      statuses.push((await fetch(`${service.url}${path}`, { headers })).status);
    }
    expect(statuses).toEqual([200, 200, 401, 401, 403, 404]);
    await new Promise((resolve) => setImmediate(resolve));
    const lines = log.split("\n").filter((line) => line.includes('"req"'));
    expect(lines.length).toBeGreaterThanOrEqual(sent.length);
    expect(log).toContain("[redacted]");
    for (const token of [good, forged, reader]) {
      expect(log).not.toContain(token);
      // Not even the signature alone: a token is as good as its last part.
      expect(log).not.toContain(token.split(".")[2]);
    }
  });
});
