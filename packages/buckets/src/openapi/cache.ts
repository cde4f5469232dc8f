import { body, op, type Paths, ref } from "./build.js";

/** The cache of works keyed by what they compute: a run's preview, and expiry. */
export const cachePaths: Paths = {
  "/runs/preview": {
    post: op(
      "What POST /runs would do with each work, writing nothing: `from` the success it would be answered from, or none (it will run)",
      {
        type: "object",
        properties: {
          name: { type: "string" },
          works: {
            type: "array",
            items: {
              type: "object",
              required: ["step", "index"],
              properties: {
                step: { type: "string" },
                index: { type: "integer" },
                key: { type: "string" },
                from: { type: "string" },
              },
            },
          },
        },
      },
      body({
        type: "object",
        required: ["config"],
        properties: {
          config: { oneOf: [{ type: "string" }, ref("PipelineConfig")] },
          params: { type: "object" },
        },
      }),
    ),
  },
  "/cache/expire": {
    post: op(
      "Successes stop standing in for new works: a run's step and the steps after it, a key and the keys made from it, or a pipeline's older than olderThan (the caller's own, within its pipelines)",
      {
        type: "object",
        properties: { expired: { type: "integer" }, keys: { type: "integer" } },
      },
      body(ref("ExpireRequest")),
    ),
  },
};
