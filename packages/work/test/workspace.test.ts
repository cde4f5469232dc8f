import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadWorkspace, WorkspaceError } from "../src/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "workspace-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const failure = (run: () => unknown): WorkspaceError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkspaceError);
    return error as WorkspaceError;
  }
  throw new Error("did not fail");
};

describe("the workspace file", () => {
  it("loads the documented example at the repository root", () => {
    const workspace = loadWorkspace(
      join(import.meta.dirname, "..", "..", "..", "workspace.example.yml"),
    );
    expect(workspace.sites).toContain("chime");
    expect(workspace.http?.baseurls?.buckets).toEqual(["http://localhost:8004"]);
  });

  it("takes one URL or a list for http.baseurls.buckets", () => {
    const path = join(dir, "w.yml");
    writeFileSync(
      path,
      "workspace: w\nsites: [a]\nhttp:\n  baseurls:\n    buckets: http://x:8004\n",
    );
    expect(loadWorkspace(path).http?.baseurls?.buckets).toEqual(["http://x:8004"]);
  });

  it("is found through WORKFLOW_WORKSPACE when no path is given", () => {
    const path = join(dir, "env.yml");
    writeFileSync(path, "workspace: from-env\nsites: [a]\n");
    expect(loadWorkspace(undefined, { env: { WORKFLOW_WORKSPACE: path } }).workspace).toBe(
      "from-env",
    );
  });

  it("missing: one clear error naming the file", () => {
    const path = join(dir, "absent.yml");
    const error = failure(() => loadWorkspace(path));
    expect(error.message).toBe(
      `workspace ${path}: not found: create it (see workspace.example.yml) or point WORKFLOW_WORKSPACE at one`,
    );
  });

  it("not YAML: names the file", () => {
    const path = join(dir, "bad.yml");
    writeFileSync(path, "workspace: [unclosed\n");
    expect(failure(() => loadWorkspace(path)).message).toMatch(
      new RegExp(`^workspace ${path}: not valid YAML`),
    );
  });

  it("a key of the wrong type: names the file and the key", () => {
    const path = join(dir, "typed.yml");
    writeFileSync(path, "workspace: w\nsites: 3\n");
    const error = failure(() => loadWorkspace(path));
    expect(error.key).toBe("sites");
    expect(error.message).toMatch(new RegExp(`^workspace ${path}: sites: `));
  });

  it("a nested key: names its path", () => {
    const path = join(dir, "nested.yml");
    writeFileSync(path, "workspace: w\nsites: [a]\nnotify:\n  slack:\n    channel: C1\n");
    expect(failure(() => loadWorkspace(path)).key).toBe("notify.slack");
  });
});
