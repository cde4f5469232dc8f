import { Writable } from "node:stream";
import jwt from "jsonwebtoken";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { databaseName, uriFor } from "../../../test/support/db.js";
import { mintToken, readOptions, startService } from "../src/index.js";
import { createLogger, type Logger } from "../src/logger.js";
import { TEST_SECRET } from "./support/service.js";

/** A log kept in memory. */
function memoryLog(): { sink: Writable; text: () => string } {
  let log = "";
  const sink = new Writable({
    write(chunk, _encoding, done) {
      log += String(chunk);
      done();
    },
  });
  return { sink, text: () => log };
}

/** Sends requests carrying tokens in every header a token travels in; answers the tokens sent. */
async function sendTokens(logger: Logger, label: string): Promise<string[]> {
  const options = readOptions({
    PORT: "0",
    HOST: "127.0.0.1",
    MONGODB_URI: uriFor(databaseName(import.meta.filename, label)),
    BUCKETS_JWT_SECRET: TEST_SECRET,
  });
  const service = await startService(options, { logger });
  try {
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
    // The redaction must not reach the request itself: the good token still authenticates.
    expect(statuses).toEqual([200, 200, 401, 401, 403, 404]);
    return [good, forged, reader];
  } finally {
    await service.close();
  }
}

function expectNoToken(log: string, tokens: string[], requests: number): void {
  const lines = log.split("\n").filter((line) => line.includes('"req"'));
  expect(lines.length).toBeGreaterThanOrEqual(requests);
  expect(log).toContain("[redacted]");
  for (const token of tokens) {
    expect(log).not.toContain(token);
    // Not even the signature alone: a token is as good as its last part.
    expect(log).not.toContain(token.split(".")[2]);
  }
}

describe("logs", () => {
  it("never hold a token, whatever header it came in and whatever the answer", async () => {
    const { sink, text } = memoryLog();
    // debug: the 2xx lines are logged too, not only the 4xx ones.
    const tokens = await sendTokens(createLogger("debug", sink), "service-logger");
    expectNoToken(text(), tokens, 6);
  });

  it("hold no token even when the service is given a logger of the caller's own", async () => {
    const { sink, text } = memoryLog();
    const tokens = await sendTokens(pino({ level: "debug" }, sink), "plain-logger");
    expectNoToken(text(), tokens, 6);
  });
});
