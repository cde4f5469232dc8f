import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWork, loadWorkspace, resolveClientSettings, SettingError } from "../src/index.js";

const base = { pipeline: "fit", site: "local", user: "alice" };
let secrets: string;
beforeEach(() => {
  secrets = mkdtempSync(join(tmpdir(), "secrets-"));
});
afterEach(() => rmSync(secrets, { recursive: true, force: true }));

const fail = (run: () => unknown): Error => {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("did not fail");
};

describe("precedence: explicit > environment > secrets > defaults", () => {
  it("shows the next layer as each one is removed", () => {
    writeFileSync(join(secrets, "workflow_priority"), "2\n");
    const env = { WORKFLOW_PRIORITY: "4" };
    expect(createWork({ ...base, priority: 5 }, { env, secretsDir: secrets }).work.priority).toBe(
      5,
    );
    expect(createWork(base, { env, secretsDir: secrets }).work.priority).toBe(4);
    expect(createWork(base, { env: {}, secretsDir: secrets }).work.priority).toBe(2);
    rmSync(join(secrets, "workflow_priority"));
    expect(createWork(base, { env: {}, secretsDir: secrets }).work.priority).toBe(3);
  });

  it("reads secret files named in upper case too, and only when the environment lacks the value", () => {
    writeFileSync(join(secrets, "WORKFLOW_TIMEOUT"), "120");
    writeFileSync(join(secrets, "workflow_tags"), '["from-secret"]');
    const { work } = createWork(base, {
      env: { WORKFLOW_TAGS: '["from-env"]' },
      secretsDir: secrets,
    });
    expect(work.timeout).toBe(120);
    expect(work.tags).toEqual(["from-env"]);
  });

  it("merges config and notify key by key across layers", () => {
    const { work } = createWork(
      { ...base, config: { parent: "explicit" } },
      {
        env: { WORKFLOW_CONFIG_ARCHIVE_RESULTS: "false", WORKFLOW_CONFIG_PARENT: "env" },
        secretsDir: secrets,
      },
    );
    expect(work.config.parent).toBe("explicit");
    expect(work.config.archive.results).toBe(false);
    expect(work.config.archive.products).toBe("copy");
  });
});

describe("prefixes and coercion", () => {
  it("reads nested prefixes and coerces values", () => {
    const { work } = createWork(base, {
      env: {
        WORKFLOW_CONFIG_ARCHIVE_RESULTS: "false",
        WORKFLOW_NOTIFY_SLACK_CHANNEL_ID: "C1",
        WORKFLOW_TAGS: '["a","b"]',
        WORKFLOW_PRIORITY: "4",
        WORKFLOW_NOTIFY_SLACK_RESULTS: "1",
        WORKFLOW_EVENT: "[7, 8]",
      },
      secretsDir: secrets,
    });
    expect(work.config.archive.results).toBe(false);
    expect(work.notify.slack).toEqual({ channel_id: "C1", results: true });
    expect(work.tags).toEqual(["a", "b"]);
    expect(work.priority).toBe(4);
    expect(work.event).toEqual([7, 8]);
  });

  it("ignores settings that are not fields (the Slack token, the HTTP settings)", () => {
    const { work } = createWork(base, {
      env: {
        WORKFLOW_NOTIFY_SLACK_TOKEN: "xoxb",
        WORKFLOW_HTTP_TIMEOUT: "3",
        WORKFLOW_STATUS: "success",
      },
      secretsDir: secrets,
    });
    expect(work.notify.slack).toEqual({});
    expect(work.status).toBe("created");
  });

  it.each([
    ["WORKFLOW_PRIORITY", "9", "WORKFLOW_PRIORITY=9: priority must be between 1 and 5"],
    ["WORKFLOW_PRIORITY", "high", "WORKFLOW_PRIORITY=high: must be a number"],
    ["WORKFLOW_TAGS", "notjson", "WORKFLOW_TAGS=notjson: must be JSON"],
    ["WORKFLOW_TAGS", "[1]", "WORKFLOW_TAGS=[1]: tags.0"],
    [
      "WORKFLOW_CONFIG_ARCHIVE_RESULTS",
      "maybe",
      "WORKFLOW_CONFIG_ARCHIVE_RESULTS=maybe: must be true, false, 1 or 0",
    ],
  ])("a bad %s=%s names the variable", (name, value, message) => {
    const error = fail(() => createWork(base, { env: { [name]: value }, secretsDir: secrets }));
    expect(error).toBeInstanceOf(SettingError);
    expect(error.message).toContain(message);
  });

  it("names a bad secret's file, never its value", () => {
    writeFileSync(join(secrets, "workflow_priority"), "s3cr3t-9");
    const error = fail(() => createWork(base, { env: {}, secretsDir: secrets }));
    expect(error.message).toContain(join(secrets, "workflow_priority"));
    expect(error.message).not.toContain("s3cr3t-9");
  });
});

describe("the workspace's site rule", () => {
  const workspaceFile = () => {
    const path = join(secrets, "workspace.yml");
    writeFileSync(path, "workspace: test\nsites: [chime, kko]\n");
    return loadWorkspace(path);
  };

  it("refuses a site outside the workspace under the strict strategy, naming the allowed sites", () => {
    const error = fail(() =>
      createWork({ ...base, site: "mars" }, { env: {}, workspace: workspaceFile() }),
    );
    expect(error.message).toMatch(
      /site "mars" is not in workspace test; allowed sites: chime, kko/,
    );
  });

  it("accepts it under the relaxed strategy, and accepts a listed site", () => {
    const workspace = workspaceFile();
    expect(
      createWork({ ...base, site: "mars", config: { strategy: "relaxed" } }, { env: {}, workspace })
        .work.site,
    ).toBe("mars");
    expect(createWork({ ...base, site: "kko" }, { env: {}, workspace }).work.site).toBe("kko");
  });
});

describe("the client's settings", () => {
  it("takes the token from the chain, first found wins", () => {
    const env = {
      GITHUB_PAT: "pat",
      GITHUB_TOKEN: "gh",
      WORKFLOW_TOKEN: "wt",
      WORKFLOW_HTTP_TOKEN: "ht",
    };
    expect(resolveClientSettings({ env, secretsDir: secrets, token: "explicit" }).token).toBe(
      "explicit",
    );
    expect(resolveClientSettings({ env, secretsDir: secrets }).token).toBe("ht");
    expect(
      resolveClientSettings({ env: { GITHUB_PAT: "pat", GITHUB_TOKEN: "gh" }, secretsDir: secrets })
        .token,
    ).toBe("gh");
    expect(resolveClientSettings({ env: { GITHUB_PAT: "pat" }, secretsDir: secrets }).token).toBe(
      "pat",
    );
    writeFileSync(join(secrets, "workflow_token"), "from-file\n");
    expect(resolveClientSettings({ env: {}, secretsDir: secrets }).token).toBe("from-file");
  });

  it("reads the timeout (default 15 s) and the base URLs", () => {
    expect(resolveClientSettings({ env: {}, secretsDir: secrets }).timeout).toBe(15);
    const settings = resolveClientSettings({
      env: { WORKFLOW_HTTP_TIMEOUT: "3", WORKFLOW_HTTP_BASEURLS: "http://a:1/, http://b:2" },
      secretsDir: secrets,
    });
    expect(settings).toMatchObject({ timeout: 3, baseUrls: ["http://a:1", "http://b:2"] });
    expect(
      fail(() =>
        resolveClientSettings({ env: { WORKFLOW_HTTP_TIMEOUT: "soon" }, secretsDir: secrets }),
      ).message,
    ).toContain("WORKFLOW_HTTP_TIMEOUT=soon");
  });
});
