/**
 * Starts the service: connects the store, wires the parts, listens, and runs the background tasks;
 * stops them in order.
 */

import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { loadWorkspace } from "@workflow/work";
import { buildApp } from "./app.js";
import { type Keys, resolveKeys } from "./auth/keys.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { BYTES_PER_MB, type ServiceOptions } from "./options.js";
import { acrossPipelines } from "./service/across.js";
import { createClaimer } from "./service/claimer.js";
import { startClock } from "./service/clock.js";
import type { ServiceContext } from "./service/context.js";
import { Dispatcher } from "./service/dispatch.js";
import { createEmitter } from "./service/events.js";
import { startReaper } from "./service/reaper.js";
import { startRetention } from "./service/retention.js";
import { callbackPolicy } from "./service/runs/callback-target.js";
import { startTicker, type Ticker } from "./service/schedules/ticker.js";
import { type ConnectOptions, connect, type Database } from "./store/connect.js";
import { createStore } from "./store/index.js";

export interface RunningService {
  url: string;
  port: number;
  keys: Keys;
  ctx: ServiceContext;
  dispatcher: Dispatcher;
  database: Database;
  /** Fires due schedules; tests call `evaluate()` after moving the clock. */
  ticker: Ticker;
  /**
   * Stops the background tasks and accepting, lets passes and requests in flight finish within
   * BUCKETS_SHUTDOWN_SECONDS (then cuts them off), then closes MongoDB.
   */
  close(): Promise<void>;
}

/** Wires the parts together and listens. */
export async function startService(
  options: ServiceOptions,
  {
    logger = createLogger(options.LOG_LEVEL),
    localClock,
    now,
    recheckMs,
    onCommand,
    failpoint,
  }: {
    logger?: Logger;
    /** This machine's clock in ms; tests skew it to show that only MongoDB's clock counts. */
    localClock?: () => number;
    /** Unix seconds as the whole service reads them: tests of schedules move it instead of waiting. */
    now?: () => number;
    /** How often waiting withdraws look again unsignalled: tests that count claims lengthen it. */
    recheckMs?: number;
    /** Sees every command sent to MongoDB: the wire test checks that each would target one shard. */
    onCommand?: ConnectOptions["onCommand"];
    /** Stops multi-write operations at named points, as a crash would (ServiceContext.failpoint). */
    failpoint?: ServiceContext["failpoint"];
  } = {},
): Promise<RunningService> {
  const workspace = options.BUCKETS_WORKSPACE
    ? loadWorkspace(options.BUCKETS_WORKSPACE)
    : undefined;
  const keys = resolveKeys(options);
  const database = await connect({
    uri: options.MONGODB_URI,
    dataDir: options.BUCKETS_DATA_DIR,
    dbName: options.BUCKETS_DB,
    onCommand,
  });
  const store = createStore(database.db);
  await store.ensureIndexes();
  await store.ensureRetention(options.BUCKETS_RETENTION_DAYS);
  const clock = await startClock(store.serverTime, localClock, (error) =>
    logger.warn({ err: error }, "could not read MongoDB's clock; keeping the last offset"),
  );
  const ctx: ServiceContext = {
    store,
    metrics: createMetrics(store),
    logger,
    leaseSeconds: options.BUCKETS_LEASE_SECONDS,
    workspace,
    now: now ?? clock.now,
    callbackSecret: options.BUCKETS_CALLBACK_SECRET,
    callbackPolicy: callbackPolicy(options.BUCKETS_CALLBACK_ALLOW),
    slack: options.BUCKETS_SLACK_TOKEN
      ? { token: options.BUCKETS_SLACK_TOKEN, apiUrl: options.BUCKETS_SLACK_API_URL }
      : undefined,
    events: createEmitter(),
    failpoint,
  };
  ctx.events.on("task:error", (task, error) =>
    logger.error({ err: error, task }, `${task} failed`),
  );
  const claimer = acrossPipelines(ctx, createClaimer(ctx));
  const dispatcher = new Dispatcher(
    ctx,
    async (query, claimant) => {
      const [work] = await claimer(query, { ...claimant, count: 1 });
      return work ?? null;
    },
    {
      maxWaiters: options.BUCKETS_MAX_WAITERS,
      maxFiltersPerToken: options.BUCKETS_MAX_WAIT_FILTERS_PER_TOKEN,
      ...(recheckMs ? { recheckMs } : {}),
    },
  );
  const reaper = startReaper(ctx, options.BUCKETS_REAP_SECONDS);
  const retention = startRetention(
    ctx,
    options.BUCKETS_RETENTION_DAYS,
    options.BUCKETS_REAP_SECONDS,
    { awaitTransfer: options.BUCKETS_RETENTION_AWAITS_TRANSFER },
  );
  const ticker = startTicker(ctx, options.BUCKETS_SCHEDULE_SECONDS);
  const app = buildApp(
    ctx,
    keys,
    { claimer, dispatcher },
    {
      metricsPublic: options.BUCKETS_METRICS_PUBLIC,
      viewMaxBytes: options.BUCKETS_VIEW_MAX_MB * BYTES_PER_MB,
      followers: {
        max: options.BUCKETS_MAX_LOG_FOLLOWERS,
        perToken: options.BUCKETS_MAX_LOG_FOLLOWERS_PER_TOKEN,
      },
    },
  );
  const server = app.listen(options.PORT, options.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.HOST === "0.0.0.0" || options.HOST === "::" ? "127.0.0.1" : options.HOST;
  const url = `http://${host}:${port}`;
  logger.info({ url, embedded: database.embeddedUri !== undefined }, "buckets listening");

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const deadline = performance.now() + options.BUCKETS_SHUTDOWN_SECONDS * 1000;
      const left = () => Math.max(0, deadline - performance.now());
      clock.stop();
      // A pass held up by a slow MongoDB (a reaper's sweep) gets no longer than a request.
      await within(
        Promise.all([ticker.stop(), reaper.stop(), retention.stop(), dispatcher.close()]),
        left(),
      );
      const bound = setTimeout(() => server.closeAllConnections(), left());
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      clearTimeout(bound);
      // The driver closes its connections in use first: a command MongoDB still holds ends here.
      await database.close();
      logger.info("buckets stopped");
    })();
    return closing;
  };
  return { url, port, keys, ctx, dispatcher, database, ticker, close };
}

/** Waits for `promise` to settle, or `ms` at most; what it settles with is dropped. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
