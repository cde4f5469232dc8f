import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput, Workspace } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";
import { type LocalS3, S3_CREDENTIALS, startLocalS3 } from "../support/s3.js";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { runOne } from "../support/works.js";

/**
 * Products and plots archived by a real worker after a Python function made them: on temporary
 * directories for posix, and on a local S3-compatible server through the AWS SDK.
 */

const MODULES = join(ROOT, "test", "fixtures", "python");
const ALL = ["bypass", "copy", "delete", "move"] as const;
let stack: Stack;
let s3: LocalS3;
const scratch = useTempDir("archive-");
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  s3 = await startLocalS3();
  await s3.createBucket("archive-test");
  // The worker reads the usual AWS variables (or /run/secrets).
  for (const [name, value] of [
    ["AWS_ACCESS_KEY_ID", S3_CREDENTIALS.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", S3_CREDENTIALS.secretAccessKey],
  ] as const) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await stack?.close();
  await s3?.close();
});

let count = 0;

/** A workspace whose site "local" archives to `archive`, allowing `methods`. */
function workspaceWith(
  archive: Workspace["archive"],
  methods: readonly (typeof ALL)[number][] = ALL,
  storage?: "posix" | "s3",
): Workspace {
  const allowed = { methods: [...methods], ...(storage ? { storage } : {}) };
  return {
    workspace: "archive-test",
    sites: ["local"],
    archive,
    config: { archive: { products: allowed, plots: allowed } },
  };
}

/** Runs `wfjobs.jobs.write` (one product, one plot) with the given methods; answers the stored work and where the files were made. */
async function runWrite(
  workspace: Workspace,
  methods: { products: string; plots: string },
  work: Partial<WorkInput> = {},
): Promise<{ work: StoredWork; made: string }> {
  const made = join(scratch, `made-${++count}`);
  const stored = await runOne(
    stack,
    {
      function: "wfjobs.jobs.write",
      parameters: { path: made, text: `content ${count}` },
      config: { archive: { results: true, ...methods } } as WorkInput["config"],
      ...work,
    },
    { cwd: MODULES, prefix: "arc", worker: { workspace } },
  );
  return { work: stored, made };
}

/** `<YYYYMMDD>/<pipeline>/<id>`, as the archive lays a work out. */
const folderOf = (work: StoredWork) =>
  `${new Date(work.creation * 1000).toISOString().slice(0, 10).replaceAll("-", "")}/${work.pipeline}/${work.id}`;

describe("archiving on posix", () => {
  it("copy: the files go to <base>/<YYYYMMDD>/<pipeline>/<id>/, the work points there, the originals stay", async () => {
    const base = join(scratch, "posix-copy");
    const { work, made } = await runWrite(workspaceWith({ posix: { local: base } }), {
      products: "copy",
      plots: "copy",
    });
    const dir = join(base, folderOf(work));
    expect(work.status).toBe("success");
    expect(work.products).toEqual([join(dir, "data.h5")]);
    expect(work.plots).toEqual([join(dir, "plot.png")]);
    expect(readFileSync(join(dir, "data.h5"), "utf8")).toMatch(/^content \d+$/);
    expect(existsSync(join(made, "data.h5"))).toBe(true);
    // Each file's sha256, read before it was archived, by the path the work reported (#29).
    const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
    expect(work.archive).toEqual({
      errors: [],
      digests: {
        [join(made, "data.h5")]: sha(join(dir, "data.h5")),
        [join(made, "plot.png")]: sha(join(dir, "plot.png")),
      },
    });
  });

  it("move: the files are in the archive and gone from where they were made", async () => {
    const base = join(scratch, "posix-move");
    const { work, made } = await runWrite(workspaceWith({ posix: { local: base } }), {
      products: "move",
      plots: "move",
    });
    const dir = join(base, folderOf(work));
    expect(work.products).toEqual([join(dir, "data.h5")]);
    expect(work.plots).toEqual([join(dir, "plot.png")]);
    expect(existsSync(join(dir, "data.h5"))).toBe(true);
    expect(existsSync(join(made, "data.h5"))).toBe(false);
    expect(existsSync(join(made, "plot.png"))).toBe(false);
  });

  it("delete: the files are removed and the work lists none; bypass leaves them as they are", async () => {
    const base = join(scratch, "posix-delete");
    const { work, made } = await runWrite(workspaceWith({ posix: { local: base } }), {
      products: "delete",
      plots: "bypass",
    });
    expect(work.products).toEqual([]);
    expect(existsSync(join(made, "data.h5"))).toBe(false);
    expect(work.plots).toEqual([join(made, "plot.png")]);
    expect(existsSync(join(made, "plot.png"))).toBe(true);
    expect(existsSync(base)).toBe(false);
  });

  it("a method the workspace does not allow is refused: the files stay, the work succeeds and says why", async () => {
    const base = join(scratch, "posix-refused");
    const { work, made } = await runWrite(
      workspaceWith({ posix: { local: base } }, ["copy", "bypass"]),
      { products: "move", plots: "copy" },
    );
    expect(work.status).toBe("success");
    expect(work.products).toEqual([join(made, "data.h5")]);
    expect(existsSync(join(made, "data.h5"))).toBe(true);
    expect(work.plots).toEqual([join(base, folderOf(work), "plot.png")]);
    expect(work.archive?.errors).toEqual([
      'products: config.archive.products is "move", which the workspace does not allow (allowed: copy, bypass); left where they are',
    ]);
  });

  it("a missing file is recorded in archive.errors; URLs are left alone; the work still succeeds", async () => {
    const base = join(scratch, "posix-missing");
    const work = await runOne(
      stack,
      { function: "wfjobs.jobs.shaped", parameters: { name: "frb-missing" } },
      {
        cwd: MODULES,
        prefix: "arc-missing",
        worker: { workspace: workspaceWith({ posix: { local: base } }) },
      },
    );
    expect(work.status).toBe("success");
    expect(work.products).toEqual(["/data/frb-missing.h5"]);
    expect(work.plots).toEqual(["/plots/frb-missing.png", "https://example.org/frb-missing.svg"]);
    expect(work.archive?.errors).toEqual([
      "products: /data/frb-missing.h5: no such file",
      "plots: /plots/frb-missing.png: no such file",
    ]);
    // Such works can be found: archive.errors is a field queries may name.
    const found = await stack
      .client()
      .view({ pipeline: work.pipeline, "archive.errors": { $exists: true, $ne: [] } });
    expect(found.map((w) => w.id)).toEqual([work.id]);
  });
});

describe("a directory as a product", () => {
  it("is copied whole on posix, and uploaded file by file on S3", async () => {
    const base = join(scratch, "posix-dir");
    const onDisk = await runWrite(
      workspaceWith({ posix: { local: base } }),
      { products: "copy", plots: "copy" },
      { function: "wfjobs.jobs.write_dir" },
    );
    const dir = join(base, folderOf(onDisk.work), "run");
    expect(onDisk.work.products).toEqual([dir]);
    expect(readFileSync(join(dir, "sub", "b.txt"), "utf8")).toBe("run/sub/b.txt");
    expect(onDisk.work.archive).toEqual({ errors: [] });

    const onS3 = await runWrite(
      workspaceWith({ s3: { local: { url: s3.url, bucket: "archive-test" } } }),
      { products: "move", plots: "copy" },
      { function: "wfjobs.jobs.write_dir" },
    );
    const key = `${folderOf(onS3.work)}/run`;
    expect(onS3.work.products).toEqual([`s3://archive-test/${key}`]);
    expect(await s3.read("archive-test", `${key}/a.txt`)).toBe("run/a.txt");
    expect(await s3.read("archive-test", `${key}/sub/b.txt`)).toBe("run/sub/b.txt");
    expect(existsSync(join(onS3.made, "run"))).toBe(false);
  });
});

describe("archiving on S3", () => {
  it("copy and move upload through the AWS SDK; the work points at s3://bucket/<subpath>/<YYYYMMDD>/<pipeline>/<id>/", async () => {
    const { work, made } = await runWrite(
      workspaceWith({ s3: { local: { url: s3.url, bucket: "archive-test", subpath: "runs" } } }),
      { products: "copy", plots: "move" },
    );
    const prefix = `runs/${folderOf(work)}`;
    expect(work.status).toBe("success");
    expect(work.archive?.errors).toEqual([]);
    expect(Object.keys(work.archive?.digests ?? {})).toHaveLength(2);
    expect(work.products).toEqual([`s3://archive-test/${prefix}/data.h5`]);
    expect(work.plots).toEqual([`s3://archive-test/${prefix}/plot.png`]);
    expect(await s3.read("archive-test", `${prefix}/data.h5`)).toMatch(/^content \d+$/);
    expect(await s3.read("archive-test", `${prefix}/plot.png`)).toMatch(/^content \d+$/);
    expect(existsSync(join(made, "data.h5"))).toBe(true);
    expect(existsSync(join(made, "plot.png"))).toBe(false);
  });

  it("CHIME's form: without bucket, the url's first path segment names it", async () => {
    const { work } = await runWrite(
      workspaceWith({ s3: { local: { url: `${s3.url}/archive-test` } } }, ALL, "s3"),
      { products: "copy", plots: "bypass" },
    );
    const key = `${folderOf(work)}/data.h5`;
    expect(work.products).toEqual([`s3://archive-test/${key}`]);
    expect(await s3.read("archive-test", key)).toMatch(/^content \d+$/);
  });

  it("a bucket that does not exist: the files stay, the work succeeds, archive.errors says so", async () => {
    const { work, made } = await runWrite(
      workspaceWith({ s3: { local: { url: s3.url, bucket: "no-such-bucket" } } }),
      { products: "move", plots: "copy" },
    );
    expect(work.status).toBe("success");
    expect(work.products).toEqual([join(made, "data.h5")]);
    expect(existsSync(join(made, "data.h5"))).toBe(true);
    expect(work.archive?.errors).toHaveLength(2);
    for (const error of work.archive?.errors ?? [])
      expect(error).toMatch(/NoSuchBucket: The specified bucket does not exist/);
    expect(JSON.stringify(work)).not.toContain(S3_CREDENTIALS.secretAccessKey);
  });
});
