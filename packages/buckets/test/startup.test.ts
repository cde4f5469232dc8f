import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import jwt from "jsonwebtoken";
import { MongoMemoryServer } from "mongodb-memory-server";
import { afterAll, describe, expect, it } from "vitest";
import { databaseName, uriFor } from "../../../test/support/db.js";
import { mintToken, readOptions, startService } from "../src/index.js";
import { aWork } from "./support/service.js";

const CLI = join(import.meta.dirname, "..", "dist", "cli.js");
const run = promisify(execFile);
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "buckets-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the embedded default", () => {
  it("keeps deposited works and its generated secret across a restart", {
    timeout: 120_000,
  }, async () => {
    const dataDir = tempDir();
    const options = readOptions(
      { PORT: "0", HOST: "127.0.0.1", BUCKETS_DATA_DIR: dataDir, LOG_LEVEL: "silent" },
      "/nonexistent",
    );
    const first = await startService(options);
    expect(first.keys.generated).toBe(true);
    const token = mintToken(first.keys, { user: "admin", scopes: ["admin"] });
    const deposit = await fetch(`${first.url}/work?return_ids=true`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify([aWork({ user: "admin" }), aWork({ user: "admin" })]),
    });
    const ids = (await deposit.json()) as string[];
    await first.close();

    expect(statSync(join(dataDir, "jwt-secret")).mode & 0o777).toBe(0o600);
    const second = await startService(options);
    try {
      const view = await fetch(`${second.url}/view`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ query: { id: { $in: ids } } }),
      });
      expect(view.status).toBe(200);
      expect(((await view.json()) as { id: string }[]).map((w) => w.id).sort()).toEqual(
        [...ids].sort(),
      );
    } finally {
      await second.close();
    }
  });
});

describe("readiness", () => {
  it("/readyz is 503 while MongoDB is stopped and 200 once it is back", {
    timeout: 120_000,
  }, async () => {
    const mongod = await MongoMemoryServer.create();
    const service = await startService(
      readOptions({
        PORT: "0",
        HOST: "127.0.0.1",
        MONGODB_URI: mongod.getUri("readyz"),
        BUCKETS_JWT_SECRET: "readyz-secret-0123456789",
        LOG_LEVEL: "silent",
      }),
    );
    try {
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      await mongod.stop({ doCleanup: false });
      const down = await fetch(`${service.url}/readyz`);
      expect(down.status).toBe(503);
      expect(Number(down.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await down.json()) as { error: { code: string } }).error.code).toBe("unavailable");
      const token = mintToken(service.keys, { user: "admin", scopes: ["admin"] });
      const view = await fetch(`${service.url}/view/count`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      });
      expect(view.status).toBe(503);
      await mongod.start(true);
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await fetch(`${service.url}/readyz`)).status;
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(status).toBe(200);
    } finally {
      await service.close();
      await mongod.stop();
    }
  });
});

describe("the buckets command", () => {
  const secret = "cli-secret-0123456789abcdef";
  const env = { PATH: process.env.PATH ?? "", BUCKETS_JWT_SECRET: secret };

  it("mints a token with the service's key", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        CLI,
        "token",
        "--user",
        "alice",
        "--scope",
        "work:deposit",
        "--pipeline",
        "p",
        "--expires",
        "1h",
      ],
      { env },
    );
    const claims = jwt.verify(stdout.trim(), secret, { algorithms: ["HS256"] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: "alice", scopes: ["work:deposit"], pipelines: ["p"] });
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000 + 3500);
  });

  it("refuses an unknown scope with a clear message", async () => {
    const failed = await run(process.execPath, [CLI, "token", "--user", "a", "--scope", "root"], {
      env,
    }).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).not.toBe(0);
    expect((failed as { stderr: string }).stderr).toContain(
      "work:deposit, work:withdraw, work:read, admin",
    );
  });

  it("serve prints an admin token, answers, and on SIGTERM lets a request in flight finish, then exits 0", {
    timeout: 60_000,
  }, async () => {
    const child: ChildProcess = spawn(process.execPath, [CLI, "serve"], {
      env: {
        PATH: env.PATH,
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        MONGODB_URI: uriFor(databaseName(import.meta.filename, "serve")),
        BUCKETS_DATA_DIR: tempDir(),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      for (let i = 0; i < 300 && !/admin token: \S+/.test(out); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      const url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      const token = /admin token: (\S+)/.exec(out)?.[1];
      expect(url).toBeDefined();
      const status = await fetch(`${url}/status`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(status.status).toBe(200);

      const slow = fetch(`${url}/work/withdraw?wait=3`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ pipeline: "nothing-here" }),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      child.kill("SIGTERM");
      const answer = await slow;
      expect(answer.status).toBe(200);
      expect(await answer.json()).toBeNull();
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
