import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseName, uriFor } from "../../../test/support/db.js";

/** `buckets token` signs with the key the service uses, or refuses: it never makes one (#27). */
const CLI = join(import.meta.dirname, "..", "dist", "cli.js");
const run = promisify(execFile);
const baseEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };

let service: ChildProcess;
let url: string;
let dataDir: string;
let elsewhere: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "buckets-data-"));
  elsewhere = mkdtempSync(join(tmpdir(), "buckets-elsewhere-"));
  // The service generates its secret into its data directory, as on a fresh install.
  service = spawn(process.execPath, [CLI, "serve"], {
    env: {
      ...baseEnv,
      PORT: "0",
      HOST: "127.0.0.1",
      MONGODB_URI: uriFor(databaseName(import.meta.filename, "serve")),
      BUCKETS_DATA_DIR: dataDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  service.stdout?.on("data", (chunk: Buffer) => {
    out += chunk;
  });
  url = await new Promise<string>((resolve, reject) => {
    service.once("exit", () => reject(new Error(`the service exited:\n${out}`)));
    service.stdout?.on("data", () => {
      const found = /buckets is running at (\S+)/.exec(out);
      if (found) resolve(found[1] as string);
    });
  });
}, 60_000);
afterAll(() => {
  service?.kill("SIGKILL");
  for (const dir of [dataDir, elsewhere]) rmSync(dir, { recursive: true, force: true });
});

const token = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [CLI, "token", "--user", "alice", "--scope", "work:read", ...args], {
    cwd: elsewhere,
    env: { ...baseEnv, ...env },
    timeout: 20_000,
  });
const statusWith = async (jwt: string) =>
  (await fetch(`${url}/status`, { headers: { authorization: `Bearer ${jwt}` } })).status;

describe("buckets token outside the service's data directory", () => {
  it("with no key to find: exits 1, says where it looked and how to point it, creates nothing", async () => {
    const failed = await token([]).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed, "it printed a token").toBeDefined();
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toBe("");
    expect(failed?.stderr).toContain(join(elsewhere, ".buckets-data", "jwt-secret"));
    expect(failed?.stderr).toContain("BUCKETS_JWT_SECRET");
    expect(failed?.stderr).toContain("--data-dir");
    expect(failed?.stderr).toContain("BUCKETS_DATA_DIR");
    expect(failed?.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(elsewhere, ".buckets-data"))).toBe(false);
  });

  it("pointed at the data directory by --data-dir or BUCKETS_DATA_DIR: the service takes its token", async () => {
    const byFlag = (await token(["--data-dir", dataDir])).stdout.trim();
    expect(await statusWith(byFlag)).toBe(200);
    const byEnv = (await token([], { BUCKETS_DATA_DIR: dataDir })).stdout.trim();
    expect(await statusWith(byEnv)).toBe(200);
    expect(existsSync(join(elsewhere, ".buckets-data"))).toBe(false);
  });
});
