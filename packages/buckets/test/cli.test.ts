import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import jwt from "jsonwebtoken";
import { afterAll, describe, expect, it } from "vitest";
import { databaseName, uriFor } from "../../../test/support/db.js";
import { freePort } from "../../../test/support/processes.js";

// The built command, as `npm install` puts it on a PATH (tests run after `turbo run build`).
const CLI = join(import.meta.dirname, "..", "dist", "cli.js");
const run = promisify(execFile);
const SECRET = "cli-test-secret-0123456789abcdef";
/** Only what the command needs: nothing leaks in from the test runner's environment. */
const baseEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `buckets token` expecting it to fail: its exit, or undefined when it succeeded. */
async function tokenFailure(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  try {
    await run(process.execPath, [CLI, "token", ...args], {
      env: { ...baseEnv, BUCKETS_JWT_SECRET: SECRET },
      timeout: 20_000,
    });
    return undefined;
  } catch (error) {
    return error as { code: number; stdout: string; stderr: string };
  }
}

it("the build output exists", () => {
  expect(existsSync(CLI), `${CLI} is missing: run \`npx turbo run build\` first`).toBe(true);
});

describe("buckets token", () => {
  it("prints a token signed with BUCKETS_JWT_SECRET carrying the user, scopes, pipelines and expiry", async () => {
    const before = Math.floor(Date.now() / 1000);
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
      { env: { ...baseEnv, BUCKETS_JWT_SECRET: SECRET }, timeout: 20_000 },
    );
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const claims = jwt.verify(lines[0] as string, SECRET, {
      algorithms: ["HS256"],
    }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: "alice", scopes: ["work:deposit"], pipelines: ["p"] });
    expect(claims.exp).toBeGreaterThanOrEqual(before + 3600);
    expect(claims.exp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
    // Signed with that secret and no other.
    expect(() => jwt.verify(lines[0] as string, `${SECRET}-other`)).toThrow();
  });

  it("repeats --scope and --pipeline", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        CLI,
        "token",
        "--user",
        "w",
        "--scope",
        "work:withdraw",
        "--scope",
        "work:read",
        "--pipeline",
        "a",
        "--pipeline",
        "b",
      ],
      { env: { ...baseEnv, BUCKETS_JWT_SECRET: SECRET }, timeout: 20_000 },
    );
    const claims = jwt.verify(stdout.trim(), SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({
      sub: "w",
      scopes: ["work:withdraw", "work:read"],
      pipelines: ["a", "b"],
    });
    // No --expires: 30 days (see lifetimes.test.ts).
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000 + 29 * 86_400);
  });

  it("reads a bare --expires number as seconds, as POST /tokens does", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { stdout } = await run(
      process.execPath,
      [CLI, "token", "--user", "alice", "--scope", "work:read", "--expires", "3600"],
      { env: { ...baseEnv, BUCKETS_JWT_SECRET: SECRET }, timeout: 20_000 },
    );
    const claims = jwt.verify(stdout.trim(), SECRET, { algorithms: ["HS256"] }) as jwt.JwtPayload;
    expect(claims.exp).toBeGreaterThanOrEqual(before + 3600);
    expect(claims.exp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
  });

  it("refuses a lifetime it cannot read, naming the option", async () => {
    const failed = await tokenFailure([
      "--user",
      "alice",
      "--scope",
      "work:read",
      "--expires",
      "soon",
    ]);
    expect(failed, "the command succeeded").toBeDefined();
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toMatch(/expires/i);
    expect(failed?.stdout).toBe("");
  });

  it("a reader gone before the token is printed (`| head -0`): exits 0 and says nothing", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "token", "--user", "alice", "--scope", "work:read"],
      {
        env: { ...baseEnv, BUCKETS_JWT_SECRET: SECRET },
      },
    );
    children.push(child);
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.once("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("refuses an unknown scope: exits non-zero, names the scope and the choices, prints no token", async () => {
    const failed = await tokenFailure(["--user", "alice", "--scope", "work:everything"]);
    expect(failed, "the command succeeded").toBeDefined();
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toContain("work:everything");
    expect(failed?.stderr).toContain("work:deposit, work:withdraw, work:read, admin");
    expect(failed?.stderr).not.toMatch(/\n\s+at /);
    expect(failed?.stdout).toBe("");
  });
});

describe("buckets serve", () => {
  it("prints an admin token, serves with it, and on SIGTERM answers the request in flight, then exits 0", {
    timeout: 90_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "buckets-cli-"));
    dirs.push(dataDir);
    const child = spawn(process.execPath, [CLI, "serve"], {
      env: {
        ...baseEnv,
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        MONGODB_URI: uriFor(databaseName(import.meta.filename, "serve")),
        BUCKETS_DATA_DIR: dataDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const logs = () =>
      out.split("\n").flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

    const started = Date.now() + 30_000;
    while (!/admin token: \S+/.test(out) && child.exitCode === null && Date.now() < started)
      await sleep(100);
    expect(out, `the service did not start:\n${out}\n${err}`).toMatch(/admin token: \S+/);

    const listening = logs().find((line) => line.msg === "buckets listening");
    expect(listening, out).toBeDefined();
    const url = String(listening?.url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    const token = /admin token: (\S+)/.exec(out)?.[1] as string;
    // The token is signed with the secret the service generated and kept in its data directory.
    const secret = readFileSync(join(dataDir, "jwt-secret"), "utf8").trim();
    expect(jwt.verify(token, secret, { algorithms: ["HS256"] })).toMatchObject({
      sub: "admin",
      scopes: ["admin"],
    });

    const auth = { authorization: `Bearer ${token}` };
    const status = await fetch(`${url}/status`, { headers: auth });
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ total: expect.any(Number) });
    expect((await fetch(`${url}/status`)).status).toBe(401);

    // A long poll with nothing to claim, held when SIGTERM comes.
    const slow = fetch(`${url}/work/withdraw?wait=10`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ pipeline: "nothing-queued-here" }),
    });
    const waiting = Date.now() + 10_000;
    let waiters = 0;
    while (waiters === 0 && Date.now() < waiting) {
      const metrics = await (await fetch(`${url}/metrics`, { headers: auth })).text();
      waiters = Number(/^buckets_longpoll_waiters (\d+)/m.exec(metrics)?.[1] ?? 0);
      if (waiters === 0) await sleep(50);
    }
    expect(waiters, "the withdraw never started waiting").toBe(1);

    const signalled = Date.now();
    child.kill("SIGTERM");
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toBeNull();
    const code = await Promise.race([exited, sleep(15_000).then(() => "still running")]);
    expect(code).toBe(0);
    // Well within BUCKETS_SHUTDOWN_SECONDS (10 s): nothing was left to wait for.
    expect(Date.now() - signalled).toBeLessThan(8_000);
    const messages = logs().map((line) => line.msg);
    expect(messages).toContain("shutting down");
    expect(messages).toContain("buckets stopped");
    expect(err).toBe("");
  });

  it("without a reachable MongoDB exits 1, naming the hosts and what to check, never the password", async () => {
    const port = await freePort();
    const failure = await run(process.execPath, [CLI, "serve"], {
      env: {
        ...baseEnv,
        BUCKETS_JWT_SECRET: SECRET,
        MONGODB_URI: `mongodb://alice:s3cret-pw@127.0.0.1:${port}/db?authSource=admin`,
        PORT: "0",
      },
      timeout: 30_000,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    const { stderr } = failure as { stderr: string };
    expect(stderr).toContain(`cannot reach MongoDB at mongodb://127.0.0.1:${port} within 5 s`);
    expect(stderr).toContain("check MONGODB_URI");
    expect(stderr).not.toContain("s3cret-pw");
    expect(stderr).not.toContain("alice");
  });
});
