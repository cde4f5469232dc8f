/** Routes of one work in full and its attempts' logs: appended, paged and followed (SSE). */

import { AttemptParamsSchema } from "@workflow/work";
import { type Response, Router } from "express";
import { holderOf, principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { createFollowHub, type FollowLimits, type Step } from "../service/follow.js";
import { appendLogs, followLogs, logText, readLogs, showWork } from "../service/logs.js";
import { parseId } from "../service/remove.js";
import { parseWith, queryFlag } from "../service/validate.js";

/** A comment line now and then keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/**
 * How far a follower may fall behind the lines that came after its first read, in bytes not yet
 * taken from its socket. Past it the follow ends with an `error` event (follow again to go on):
 * a follower that stops reading must not hold the service's memory for as long as it stays.
 */
export const MAX_FOLLOWER_BACKLOG_BYTES = 4 * 1024 * 1024;

/** One work in full, and the logs of its attempts: appended by its worker, read by its readers. */
export function logRoutes(ctx: ServiceContext, followers: FollowLimits): Router {
  const router = Router();
  const hub = createFollowHub(ctx, followers);

  router.get("/work/:id", async (req, res) => {
    res.json(await showWork(ctx, principalOf(res), parseId(req.params.id)));
  });

  router.post("/work/:id/logs", async (req, res) => {
    const params = parseWith(AttemptParamsSchema, req.query, "query");
    const id = parseId(req.params.id);
    await appendLogs(ctx, principalOf(res), id, params, holderOf(req, res), req.body);
    res.json(true);
  });

  router.get("/work/:id/logs", async (req, res) => {
    const id = parseId(req.params.id);
    const principal = principalOf(res);
    if (!queryFlag(req.query, "follow")) {
      if (String(req.query.format).toLowerCase() === "json") {
        const { attempt, after, limit } = req.query;
        return void res.json(await readLogs(ctx, principal, id, { attempt, after, limit }));
      }
      return void (await sendText(res, logText(ctx, principal, id, req.query.attempt)));
    }
    let closed = false;
    req.on("close", () => {
      closed = true;
    });
    const send = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // Steps come from the first read before the stream's start is written: they wait for it.
    const early: Step[] = [];
    let write: ((step: Step) => void) | undefined;
    let done: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      done = resolve;
    });
    const following = await followLogs(ctx, hub, principal, id, req.query.attempt, (step) =>
      write ? write(step) : early.push(step),
    );
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    send("start", { id, attempt: following.attempt, cut: following.cut });
    let quiet = Date.now();
    /** What the socket may hold unsent when a step comes: the first read, and the backlog. */
    let allowance: number | undefined;
    write = (step) => {
      if (closed) return;
      if (allowance !== undefined && res.writableLength > allowance) return void behind();
      // One write a step: a write a line costs a buffer each, many times the line's own size.
      let text = "";
      for (const line of step.lines) text += `event: line\ndata: ${JSON.stringify(line)}\n\n`;
      if (text) res.write(text);
      allowance ??= res.writableLength + MAX_FOLLOWER_BACKLOG_BYTES;
      if (step.lines.length > 0) quiet = Date.now();
      if (step.ended) {
        send("end", { attempt: following.attempt });
        done();
      }
    };
    const behind = () => {
      send("error", {
        message: `this follower fell more than ${MAX_FOLLOWER_BACKLOG_BYTES / 2 ** 20} MB behind the attempt's output; follow again to go on from its first kept line`,
      });
      closed = true;
      done();
      // A client that reads nothing more would keep the unsent output in memory: let it go.
      const timer = setTimeout(() => res.destroy(), KEEPALIVE_MS).unref();
      res.once("finish", () => clearTimeout(timer));
    };
    for (const step of early) write(step);
    const keepalive = setInterval(() => {
      if (Date.now() - quiet < KEEPALIVE_MS) return;
      res.write(": still running\n\n");
      quiet = Date.now();
    }, KEEPALIVE_MS / 3);
    req.on("close", done);
    if (closed) done();
    await ended;
    clearInterval(keepalive);
    following.stop();
    res.end();
  });

  return router;
}

/** Writes the text as it is read, waiting whenever the client is slower than MongoDB. */
async function sendText(res: Response, chunks: AsyncGenerator<string>): Promise<void> {
  // The first chunk before the headers: an error reading the work still becomes its 4xx.
  const first = await chunks.next();
  res.type("text/plain; charset=utf-8");
  if (first.done) return void res.send("");
  res.write(first.value);
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) break;
      if (!res.write(chunk)) await drained(res);
    }
    res.end();
  } catch (error) {
    // Past the headers an error cannot become a 4xx or 5xx: the client sees the answer cut short.
    res.destroy(error instanceof Error ? error : undefined);
  }
}

/** Resolves when the client can take more, or has gone. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      res.off("drain", go);
      res.off("close", go);
      resolve();
    };
    res.on("drain", go);
    res.on("close", go);
  });
}
