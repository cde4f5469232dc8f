/**
 * The Express app: middleware in order, then every router. It never listens, connects or starts
 * background tasks (server.ts does).
 */

import express, { type Express } from "express";
import type { Keys } from "./auth/keys.js";
import { authenticate } from "./http/auth.js";
import { jsonBody } from "./http/body.js";
import { errorHandler, notFoundHandler } from "./http/errors.js";
import { requestLogger, requestMetrics } from "./http/observe.js";
import { refuseProtoKeys } from "./http/proto.js";
import {
  BYTES_PER_MB,
  DEFAULT_MAX_LOG_FOLLOWERS,
  DEFAULT_MAX_LOG_FOLLOWERS_PER_TOKEN,
  DEFAULT_VIEW_MAX_MB,
} from "./options.js";
import { activityRoutes } from "./routes/activity.js";
import { auditRoutes } from "./routes/audit.js";
import { cacheRoutes } from "./routes/cache.js";
import { configRoutes } from "./routes/configs.js";
import { logRoutes } from "./routes/logs.js";
import { opsRoutes } from "./routes/ops.js";
import { resultsPublicRoutes, resultsRoutes } from "./routes/results.js";
import { runOutputRoutes } from "./routes/run-outputs.js";
import { runRoutes } from "./routes/runs.js";
import { scheduleRoutes } from "./routes/schedules.js";
import { tokenRoutes } from "./routes/tokens.js";
import { uiRoutes } from "./routes/ui.js";
import { viewRoutes } from "./routes/view.js";
import { workRoutes } from "./routes/work.js";
import type { ServiceContext } from "./service/context.js";
import type { FollowLimits } from "./service/follow.js";
import type { Withdrawing } from "./service/withdraw.js";

/** Settings the routes read beyond the context. */
export interface AppOptions {
  /** Serve /metrics without a token. */
  metricsPublic: boolean;
  /** The most one /view answer may hold, in bytes of JSON. */
  viewMaxBytes: number;
  /** Log followers at once, overall and per token subject. */
  followers: FollowLimits;
}

const DEFAULT_APP_OPTIONS: AppOptions = {
  metricsPublic: false,
  viewMaxBytes: DEFAULT_VIEW_MAX_MB * BYTES_PER_MB,
  followers: { max: DEFAULT_MAX_LOG_FOLLOWERS, perToken: DEFAULT_MAX_LOG_FOLLOWERS_PER_TOKEN },
};

/** Builds the HTTP app from its parts; listening is the caller's business (see server.ts). */
export function buildApp(
  ctx: ServiceContext,
  keys: Keys,
  withdraw: Withdrawing,
  { metricsPublic, viewMaxBytes, followers }: AppOptions = DEFAULT_APP_OPTIONS,
): Express {
  const app = express();
  app.disable("x-powered-by");
  // Clients never revalidate: hashing every answer for an ETag is work for nobody.
  app.disable("etag");
  app.set("trust proxy", "loopback");
  app.use(requestLogger(ctx.logger));
  app.use(requestMetrics(ctx.metrics));
  // One verifier for every route, so a token verified once is remembered everywhere.
  const auth = authenticate(keys);
  app.use(opsRoutes(ctx, ctx.metrics, { authenticate: auth, metricsPublic }));
  // The dashboard's files are public; the data it shows comes from the API below, with a token.
  app.use(uiRoutes());
  app.use(resultsPublicRoutes());
  app.use(auth);
  app.use(jsonBody());
  app.use(refuseProtoKeys);
  app.use(workRoutes(ctx, withdraw));
  app.use(logRoutes(ctx, followers));
  app.use(auditRoutes(ctx));
  // Before the runs' routes: /runs/preview is no run's id.
  app.use(cacheRoutes(ctx));
  app.use(runRoutes(ctx));
  app.use(runOutputRoutes(ctx, { maxBytes: viewMaxBytes }));
  app.use(configRoutes(ctx));
  app.use(configRoutes(ctx, "/v2"));
  app.use(scheduleRoutes(ctx));
  app.use(tokenRoutes(keys));
  app.use(viewRoutes(ctx, { maxBytes: viewMaxBytes }));
  app.use(activityRoutes(ctx));
  app.use(resultsRoutes(ctx, { maxBytes: viewMaxBytes }));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
