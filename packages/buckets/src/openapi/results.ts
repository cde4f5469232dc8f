/** OpenAPI paths of the results store, under RESULTS_PREFIX. */

import { RESULTS_PREFIX } from "@workflow/work";
import { body, counts, ok, op, type Paths, query, ref } from "./build.js";

const works = { type: "array", items: ref("Work") };

/** The results store, CHIME's results service under RESULTS_PREFIX. */
export const resultPaths: Paths = {
  [`${RESULTS_PREFIX}/version`]: {
    get: {
      summary: "The service's version; needs no token",
      responses: { "200": ok("version", { type: "object" }) },
    },
  },
  [`${RESULTS_PREFIX}/results`]: {
    post: op(
      "Keep finished works (status success or failure, each with its id); one already kept stays as it was. Answers true per pipeline",
      ref("ResultsDepositAnswer"),
      body(works),
    ),
    put: op(
      "Replace kept results; a locked one (results.locked: true) only by a replacement that unlocks it",
      { const: true },
      body(works),
    ),
    delete: op(
      "Forget results (locked ones are refused); unknown ids are ignored. Answers {<pipeline>: true} for each pipeline named",
      { type: "object", additionalProperties: { const: true } },
      {
        parameters: [
          {
            ...query(
              "<pipeline>",
              "ids of that pipeline's results, repeated: ?<pipeline>=<id>&<pipeline>=<id>",
              {
                type: "array",
                items: { type: "string" },
              },
            ),
            style: "form",
            explode: true,
          },
        ],
      },
    ),
  },
  [`${RESULTS_PREFIX}/view`]: {
    post: op("Kept results matching a query, in id order", works, body(ref("ResultsViewRequest"))),
  },
  [`${RESULTS_PREFIX}/view/count`]: {
    post: op(
      "How many kept results match a query",
      { type: "integer" },
      body(ref("ResultsCountRequest")),
    ),
  },
  [`${RESULTS_PREFIX}/status`]: {
    get: op("How many results each pipeline keeps", counts),
  },
};
