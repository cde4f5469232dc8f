import { AttemptParamsSchema } from "@workflow/work";
import { Router } from "express";
import { holderOf, principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { appendLogs, followLogs, logText, readLogs, showWork } from "../service/logs.js";
import { parseId } from "../service/remove.js";
import { parseWith } from "../service/validate.js";

/** How often a follower looks for new lines, in ms. */
const FOLLOW_POLL_MS = 500;
/** A comment line now and then keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/** One work in full, and the logs of its attempts: appended by its worker, read by its readers. */
export function logRoutes(ctx: ServiceContext): Router {
  const router = Router();

  router.get("/work/:id", async (req, res) => {
    res.json(await showWork(ctx, principalOf(res), parseId(req.params.id)));
  });

  router.post("/work/:id/logs", async (req, res) => {
    const { attempt } = parseWith(AttemptParamsSchema, req.query, "query");
    const id = parseId(req.params.id);
    await appendLogs(ctx, principalOf(res), id, attempt, holderOf(req, res), req.body);
    res.json(true);
  });

  router.get("/work/:id/logs", async (req, res) => {
    const id = parseId(req.params.id);
    const principal = principalOf(res);
    if (String(req.query.follow).toLowerCase() !== "true") {
      const logs = await readLogs(ctx, principal, id, req.query.attempt);
      if (String(req.query.format).toLowerCase() === "json") return void res.json(logs);
      return void res.type("text/plain; charset=utf-8").send(logText(logs));
    }
    const following = await followLogs(ctx, principal, id, req.query.attempt);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    const send = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send("start", { id, attempt: following.attempt, cut: following.cut });
    let closed = false;
    req.on("close", () => {
      closed = true;
    });
    let quiet = Date.now();
    while (!closed) {
      let step: Awaited<ReturnType<typeof following.next>>;
      try {
        step = await following.next();
      } catch (error) {
        ctx.logger.warn({ err: error, work: id }, "following logs failed");
        send("error", { message: "the service could not read the logs; follow again" });
        break;
      }
      for (const line of step.lines) send("line", line);
      if (step.lines.length > 0) quiet = Date.now();
      if (step.ended) {
        send("end", { attempt: following.attempt });
        break;
      }
      if (Date.now() - quiet > KEEPALIVE_MS) {
        res.write(": still running\n\n");
        quiet = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
    }
    res.end();
  });

  return router;
}
