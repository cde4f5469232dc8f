import { ObjectId } from "mongodb";
import { expect } from "vitest";
import { pipelineConfig } from "../../../../test/support/configs.js";
import { QUIET_REAPER, type TestService, useTestService } from "./service.js";

/**
 * A pipeline run driven through the API as its tests drive it: alice starts a config, the worker
 * claims and reports its works, alice reads the run back.
 */

/** What a claim answers, as far as the run tests read it. */
export interface Claimed {
  id: string;
  attempt: number;
  parameters?: Record<string, unknown>;
}

/** A run as GET /runs/:id answers it, as far as the run tests read it. */
export interface RunView {
  id: string;
  status: string;
  paused?: number;
  maxParallel?: number;
  steps: { name: string; state: string; works: number; counts: Record<string, number> }[];
  events: { kind: string; step?: string; detail?: string }[];
}

/** What a test's handler decides for one claimed work; success without results unless it says. */
export interface Outcome {
  status?: string;
  results?: unknown;
}

/** The calls, for `t`; `R` is the file's view of a run, `C` of a claimed work. */
export function runCalls<R, C extends Claimed = Claimed>(t: TestService) {
  /** The pipeline's next work as the worker, or null when none can be claimed now. */
  const withdraw = async (pipeline: string): Promise<C | null> => {
    const answer = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as C | null;
  };

  /** The worker's report of one attempt; the answer is the test's to check. */
  const report = (work: Claimed, status = "success", results?: unknown) =>
    t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [
        {
          id: work.id,
          attempt: work.attempt,
          status,
          ...(results === undefined ? {} : { results }),
        },
      ],
    });

  /** The worker's report of a success, with `results`. */
  const succeed = (work: Claimed, results: Record<string, unknown> = {}) =>
    report(work, "success", results);

  /** A POST as alice. */
  const post = (path: string, body?: unknown) =>
    t.call("POST", path, { token: t.tokens.alice, ...(body === undefined ? {} : { body }) });

  /** Every work of the pipeline that can be claimed now. */
  const claimAll = async (pipeline: string): Promise<C[]> => {
    const claimed: C[] = [];
    for (let w = await withdraw(pipeline); w; w = await withdraw(pipeline)) claimed.push(w);
    return claimed;
  };

  /** Claims and reports (as `handle` says) every claimable work until none is left, in claim order. */
  const drain = async (pipeline: string, handle: (w: C) => Outcome = () => ({})): Promise<C[]> => {
    const done: C[] = [];
    for (let w = await withdraw(pipeline); w; w = await withdraw(pipeline)) {
      const { status = "success", results } = handle(w);
      const answer = await report(w, status, results);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      done.push(w);
    }
    return done;
  };

  /** Starts `config` as alice unless told (201 expected) and answers the run's id. */
  const startRun = async (
    config: unknown,
    params?: Record<string, unknown>,
    token = t.tokens.alice,
  ): Promise<string> => {
    const answer = await t.call("POST", "/runs", {
      token,
      body: { config, ...(params ? { params } : {}) },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return (answer.body as { id: string }).id;
  };

  /** The run as alice reads it. */
  const getRun = async (id: string): Promise<R> => {
    const answer = await t.call("GET", `/runs/${id}`, { token: t.tokens.alice });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as R;
  };

  return { withdraw, report, succeed, post, claimAll, drain, startRun, getRun };
}

/** `base` with a suffix of its own, so that runs kept in the file's database from earlier runs never meet. */
export const uniqueName = (base: string) => `${base}-${new ObjectId().toHexString().slice(-8)}`;

/** A version 2 config of `steps`, on site "local", with `extra` beside its pipeline. */
export const runConfig = (name: string, steps: unknown[], extra: Record<string, unknown> = {}) =>
  pipelineConfig(name, steps, {}, extra);

/** A fit over i = 1, 2, 3, then a sum that needs the fits' results `i`: a run to control. */
export const fitThenSum = (name: string, extra: Record<string, unknown> = {}) =>
  runConfig(
    name,
    [
      {
        name: "fit",
        matrix: { i: [1, 2, 3] },
        work: { command: ["true"], parameters: { i: "${{ matrix.i }}" } },
      },
      {
        name: "sum",
        needs: ["fit"],
        work: { command: ["true"], parameters: { all: "${{ needs.fit.results.i }}" } },
      },
    ] as Record<string, unknown>[],
    extra,
  );

/** A file of run tests: the service (its reaper quiet, the file's tests drive it) and the calls on it. */
export function useRunService<R = RunView>(file: string) {
  const { t, db } = useTestService(file, QUIET_REAPER);
  return { t, db, ...runCalls<R>(t) };
}
