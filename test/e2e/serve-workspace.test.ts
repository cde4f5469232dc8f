import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createWork, loadWorkspace } from "@workflow/work";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseName, uriFor } from "../support/db.js";
import { BUCKETS_CLI, freePort, type Owned, own, ROOT, waitForHttp } from "../support/processes.js";
import { useTempDir } from "../support/temp-dir.js";

const SECRET = "serve-workspace-secret-0123456789";
const dir = useTempDir("serve-workspace-");
const owned: Owned[] = [];
beforeAll(() => {});
afterAll(async () => {
  await Promise.all(owned.map((o) => o.stop("SIGTERM")));
});

/** `buckets serve` as its own process, with these arguments; answers its URL once it listens. */
async function serve(args: string[], label: string): Promise<string> {
  const port = await freePort();
  const service = own(process.execPath, [BUCKETS_CLI, "serve", ...args], {
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    MONGODB_URI: uriFor(databaseName(import.meta.filename, label)),
    BUCKETS_JWT_SECRET: SECRET,
  });
  owned.push(service);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/livez`);
  return url;
}

const token = jwt.sign({ sub: "alice", scopes: ["work:deposit", "work:read"] }, SECRET);
const depositAt = async (url: string, site: string) => {
  const response = await fetch(`${url}/work`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify([{ pipeline: "p", site, user: "alice", command: ["true"] }]),
  });
  return { status: response.status, body: (await response.json()) as unknown };
};

describe("buckets serve --workspace", () => {
  it("takes works only for the workspace's sites, and says which are allowed", {
    timeout: 60_000,
  }, async () => {
    const file = join(dir, "chime.yml");
    writeFileSync(file, "workspace: chime\nsites: [chime, kko]\n");
    const url = await serve(["--workspace", file], "with");
    expect((await depositAt(url, "chime")).status).toBe(200);
    const refused = await depositAt(url, "gbo");
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain(
      '\\"gbo\\" is not a site of this service; allowed sites: chime, kko',
    );
  });

  it("without a workspace, any site is taken", { timeout: 60_000 }, async () => {
    const url = await serve([], "without");
    expect((await depositAt(url, "anywhere")).status).toBe(200);
  });

  it("a workspace file that is missing stops the start with one line naming it", {
    timeout: 60_000,
  }, async () => {
    const service = own(process.execPath, [BUCKETS_CLI, "serve", "--workspace", "/nowhere.yml"], {
      PORT: "0",
      HOST: "127.0.0.1",
      MONGODB_URI: uriFor(databaseName(import.meta.filename, "missing")),
      BUCKETS_JWT_SECRET: SECRET,
    });
    owned.push(service);
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain("buckets: workspace /nowhere.yml: not found");
  });
});

describe("workspace.example.yml", () => {
  it("does not make every work ask for Slack: its Slack defaults are commented out", () => {
    const example = join(ROOT, "workspace.example.yml");
    const workspace = loadWorkspace(example);
    expect(workspace.notify?.slack?.channel_id).toBeUndefined();
    const { work } = createWork(
      { pipeline: "p", site: "chime", user: "alice", command: ["true"] },
      { workspace, env: {} },
    );
    expect(work.notify.slack).toEqual({});
  });
});
