/** OpenAPI paths of the cache: a run's preview, and expiry. */

import { body, op, type Paths, ref } from "./build.js";

/** The cache of works keyed by what they compute: a run's preview, and expiry. */
export const cachePaths: Paths = {
  "/runs/preview": {
    post: op(
      "What POST /runs would do with each work, writing nothing: `from` the success it would be answered from, or none (it will run)",
      ref("PreviewAnswer"),
      body(ref("CreateRun")),
    ),
  },
  "/cache/expire": {
    post: op(
      "Successes stop standing in for new works: a run's step and the steps after it, a key and the keys made from it, or a pipeline's older than olderThan (the caller's own, within its pipelines)",
      ref("ExpireResult"),
      body(ref("ExpireRequest")),
    ),
  },
};
