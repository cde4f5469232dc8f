import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { QUIET_REAPER, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

/** What CHIME's `workflow configs deploy FILE` sends: the YAML file as a mapping. */
const CHIME = {
  version: "2",
  name: "example-pipeline",
  defaults: { user: "alice", site: "local" },
  pipeline: {
    steps: [
      {
        name: "math",
        stage: 1,
        matrix: { alpha: [1, 2, 3], beta: [1, 2, 3] },
        work: {
          function: "workflow.examples.function.math",
          parameters: { a: "${{ matrix.alpha }}", b: "${{ matrix.beta }}" },
        },
      },
    ],
  },
};

// CHIME's workspace names one base URL for its configs, pipelines and schedules clients: the root
// (as older workspaces do) or `.../v2`, as its development workspace does.
describe.each(["", "/v2"])("CHIME's configs API at base %j, on runs", (base) => {
  it("deploy starts a run; ls, ps, count, stop, rm and retry answer as CHIME's client reads them", async () => {
    const as = { token: t.tokens.alice };
    const deployed = await t.call("POST", `${base}/configs`, { ...as, body: CHIME });
    expect(deployed.status).toBe(200);
    const { config, pipelines } = deployed.body as { config: string; pipelines: string[] };
    expect(pipelines).toEqual([config]);
    const run = (await t.call("GET", `/runs/${config}`, as)).body as { steps: { works: number }[] };
    expect(run.steps[0]?.works).toBe(9);

    const projection = encodeURIComponent(JSON.stringify({ yaml: 0, deployments: 0 }));
    const listed = (
      await t.call(
        "GET",
        `${base}/configs?name=example-pipeline&query=%7B%7D&projection=${projection}`,
        as,
      )
    ).body as Record<string, unknown>[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id: config,
      name: "example-pipeline",
      version: "2",
      user: "alice",
    });
    expect(listed[0]).not.toHaveProperty("yaml");

    const query = encodeURIComponent(JSON.stringify({ id: config }));
    const [one] = (
      await t.call(
        "GET",
        `${base}/configs?name=example-pipeline&query=${query}&projection=%7B%7D`,
        as,
      )
    ).body as { yaml: string }[];
    expect(parse(one?.yaml as string)).toMatchObject({
      name: "example-pipeline",
      pipeline: CHIME.pipeline,
    });
    expect((await t.call("GET", `${base}/configs/count?database=configs`, as)).body).toEqual({
      configs: 1,
    });

    const stopped = await t.call(
      "PUT",
      `${base}/configs/cancel?name=example-pipeline&query=${query}`,
      as,
    );
    expect(stopped.body).toEqual({ stopped_config: config, stopped_pipelines: [config] });
    expect(
      (await t.call("PUT", `${base}/configs/cancel?name=example-pipeline&query=${query}`, as))
        .status,
    ).toBe(304);

    const retried = await t.call("POST", `${base}/configs/retry`, {
      ...as,
      body: { id: config, name: "example-pipeline" },
    });
    expect(retried.status).toBe(200);
    await t.call("PUT", `${base}/configs/cancel?name=example-pipeline&query=${query}`, as);
    expect(
      (await t.call("DELETE", `${base}/configs?name=example-pipeline&query=${query}`, as)).status,
    ).toBe(200);
    expect((await t.call("GET", `/runs/${config}`, as)).status).toBe(404);
  });

  it("answers GET and HEAD of version and the status at the base, without a token for version", async () => {
    for (const method of ["GET", "HEAD"]) {
      const version = await fetch(`${t.url}${base}/version`, { method });
      expect(version.status, method).toBe(200);
    }
    const status = await t.call("GET", `${base}/status`, { token: t.tokens.alice });
    expect(status.status).toBe(200);
    expect(status.body).toHaveProperty("total");
  });

  it("a refused config answers error_description[0].msg, as CHIME's CLI prints it", async () => {
    const broken = {
      ...CHIME,
      pipeline: { steps: [{ ...CHIME.pipeline.steps[0], needs: ["nope"] }] },
    };
    const answer = await t.call("POST", `${base}/configs`, { token: t.tokens.alice, body: broken });
    expect(answer.status).toBe(400);
    const { error_description } = answer.body as { error_description: { msg: string }[] };
    expect(error_description[0]?.msg).toMatch(/step "math" .*needs: no step is named "nope"/);
    const bad = await t.call("GET", `${base}/configs?query=not-json`, { token: t.tokens.alice });
    expect(bad.status).toBe(400);
  });
});
