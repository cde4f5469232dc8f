/** `workflow run`: the worker daemon's flags, handed to startWorker. */

import { hostname } from "node:os";
import type { Command } from "commander";
import { startWorker } from "../daemon.js";
import { createLogger } from "../logger.js";
import { WORKER_DEFAULTS } from "../options.js";
import { type ConnectionFlags, clientFrom, workspaceFrom } from "./connection.js";
import { collect, integer, number } from "./parse.js";

interface RunFlags extends ConnectionFlags {
  site?: string;
  tag?: string[];
  parent?: string[];
  event?: number[];
  function?: string;
  command?: string;
  functionRoot?: string[];
  lives: number;
  sleep: number;
  concurrency: number;
  grace: number;
  lease?: number;
  name: string;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run a worker: withdraw works of these pipelines, run them, report outcomes")
    .argument("<pipeline...>", "pipelines to serve")
    .option("--site <site>", "only works for this site")
    .option("--tag <tag>", "only works with this tag (repeatable)", collect)
    .option("--parent <parent>", "only works with this config.parent (repeatable)", collect)
    .option(
      "--event <id>",
      "only works about this event (repeatable)",
      (v, prev: number[] = []) => [...prev, integer(v)],
    )
    .option(
      "--function <name>",
      "run this function for works that name none: module#export (Node) or pkg.module.func (Python)",
    )
    .option("--command <command>", "run this shell command for works that name none")
    .option(
      "--function-root <dir>",
      "a directory function works (Node and Python) may load modules from (repeatable; default: the working directory, and PYTHONPATH for Python)",
      collect,
    )
    .option(
      "--lives <n>",
      "works to do before exiting; -1 for ever",
      integer,
      WORKER_DEFAULTS.lives,
    )
    .option("--sleep <seconds>", "pause after an empty long-poll", number, WORKER_DEFAULTS.sleep)
    .option("--concurrency <k>", "works to run at once", integer, WORKER_DEFAULTS.concurrency)
    .option(
      "--grace <seconds>",
      "on SIGTERM, time running works get before they are killed",
      number,
      WORKER_DEFAULTS.grace,
    )
    .option(
      "--lease <seconds>",
      "how long a claim holds between heartbeats: a dead worker's works run again after this (default: the service's BUCKETS_LEASE_SECONDS)",
      number,
    )
    .option("--name <name>", "this worker's name in each attempt's history", WORKER_DEFAULTS.name)
    .addHelpText(
      "after",
      "\nExample:\n  workflow run fit-spectra --site chime --concurrency 4 --url http://buckets:8004",
    )
    .action(async (pipelines: string[], flags: RunFlags, command: Command) => {
      const global = { ...command.optsWithGlobals<ConnectionFlags>(), ...flags };
      const logger = createLogger();
      const client = clientFrom(global, `${hostname()}/${process.pid}/${flags.name}`);
      const worker = startWorker({
        pipelines,
        client,
        logger,
        workspace: workspaceFrom(global),
        lives: flags.lives,
        sleep: flags.sleep,
        concurrency: flags.concurrency,
        grace: flags.grace,
        ...(flags.lease === undefined ? {} : { lease: flags.lease }),
        name: flags.name,
        ...(flags.site ? { site: flags.site } : {}),
        ...(flags.tag ? { tags: flags.tag } : {}),
        ...(flags.parent ? { parents: flags.parent } : {}),
        ...(flags.event ? { events: flags.event } : {}),
        ...(flags.function ? { function: flags.function } : {}),
        ...(flags.command ? { command: [flags.command] } : {}),
        ...(flags.functionRoot ? { functionRoots: flags.functionRoot } : {}),
      });
      const stop = (signal: string) => {
        logger.info({ signal }, "stopping: running works get the grace period");
        void worker.stop();
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
      await worker.done;
      logger.info({ completed: worker.completed }, "worker stopped");
    });
}
