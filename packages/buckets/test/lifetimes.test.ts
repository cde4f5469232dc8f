import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import jwt from "jsonwebtoken";
import { afterAll, describe, expect, it } from "vitest";
import { databaseName, uriFor } from "../../../test/support/db.js";

// The built command (tests run after `turbo run build`).
const CLI = join(import.meta.dirname, "..", "dist", "cli.js");
const run = promisify(execFile);
const env = {
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  BUCKETS_JWT_SECRET: "lifetimes-test-secret-0123456789",
};
const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function token(...args: string[]): Promise<{ exp?: number }> {
  const { stdout } = await run(
    process.execPath,
    [CLI, "token", "--user", "u", "--scope", "work:read", ...args],
    { env },
  );
  return jwt.verify(stdout.trim(), env.BUCKETS_JWT_SECRET) as { exp?: number };
}

describe("token lifetimes", () => {
  it("`buckets token` lasts 30 days unless told otherwise; `--expires never` is the only way to forever", async () => {
    const before = now();
    const unasked = await token();
    expect(unasked.exp).toBeGreaterThanOrEqual(before + 30 * DAY);
    expect(unasked.exp).toBeLessThanOrEqual(now() + 30 * DAY);
    expect((await token("--expires", "12h")).exp).toBeLessThanOrEqual(now() + 12 * 3600);
    expect(await token("--expires", "never")).not.toHaveProperty("exp");
  });

  it("refuses a lifetime it cannot read, saying what one looks like", async () => {
    const failed = await run(
      process.execPath,
      [CLI, "token", "--user", "u", "--scope", "admin", "--expires", "forever"],
      { env },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toContain('"never"');
    expect(failed?.stdout).toBe("");
  });

  it("the admin token `serve` prints on a fresh install expires in 24 hours", {
    timeout: 90_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "buckets-lifetimes-"));
    dirs.push(dataDir);
    const child = spawn(process.execPath, [CLI, "serve"], {
      env: {
        PATH: env.PATH,
        HOME: env.HOME,
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        MONGODB_URI: uriFor(databaseName(import.meta.filename)),
        BUCKETS_DATA_DIR: dataDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const printed = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", () => {
        const found = /admin token: (\S+)/.exec(out)?.[1];
        if (found) resolve(found);
      });
      child.once("exit", () => reject(new Error(`serve exited:\n${out}`)));
    });
    const before = now();
    const claims = jwt.decode(printed) as { exp?: number; scopes: string[] };
    expect(claims.scopes).toEqual(["admin"]);
    expect(claims.exp).toBeGreaterThan(before + DAY - 120);
    expect(claims.exp).toBeLessThanOrEqual(before + DAY);
    expect(out).toContain("expires in 24h");
    child.kill("SIGTERM");
    await exited;
  });
});
