/**
 * The answers of the operators' endpoints: /version, /livez, /readyz and /openapi.json. One zod
 * schema each, which the service answers with, the OpenAPI document is generated from and the
 * tests check the real answers against (strict where the shape is fixed).
 */

import { z } from "zod";

/** GET /version (and CHIME's /v2/version, where its clients check the server). */
export const VersionAnswerSchema = z.strictObject({ version: z.string() });
export type VersionAnswer = z.output<typeof VersionAnswerSchema>;

/** GET /livez (the process is up) and GET /readyz (MongoDB answers too). */
export const HealthAnswerSchema = z.strictObject({ ok: z.literal(true) });
export type HealthAnswer = z.output<typeof HealthAnswerSchema>;

/**
 * GET /openapi.json: an OpenAPI 3.1 document. Only its frame is fixed here; what it holds is
 * generated from the other schemas, and its own tests check that.
 */
export const OpenApiAnswerSchema = z.looseObject({
  openapi: z.literal("3.1.0"),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  components: z.looseObject({ schemas: z.record(z.string(), z.unknown()) }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
});
export type OpenApiAnswer = z.output<typeof OpenApiAnswerSchema>;
