import { z } from "zod";
import { ERROR_CODES, type ErrorCode } from "../errors.js";
import { statusOf } from "../http/errors.js";

/** Pieces the OpenAPI document is built of, shared by its parts. */

export type JsonSchema = Record<string, unknown>;
export type Paths = Record<string, Record<string, unknown>>;

/** A zod schema as JSON Schema: the document describes requests with the schemas that check them. */
export const schema = (zod: z.ZodType, io: "input" | "output" = "input"): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(zod, { io, unrepresentable: "any" });
  return rest;
};

export const ErrorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES]),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (s: unknown) => ({ "application/json": { schema: s } });
export const ok = (description: string, s: unknown) => ({ description, content: json(s) });
/** Each status the registry's codes answer with, described by those codes (README: Error codes). */
export const errors: Record<string, { description: string; content: unknown }> = {};
for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
  const status = String(statusOf(code));
  const known = errors[status];
  if (known) known.description += `, ${code}`;
  else errors[status] = { description: code, content: json(ref("Error")) };
}

/** An operation that needs a token, answering `response` or one of the registry's errors. */
export const op = (summary: string, response: unknown, extra: Record<string, unknown> = {}) => ({
  summary,
  security: [{ bearer: [] }, { accessToken: [] }],
  ...extra,
  responses: { "200": ok(summary, response), ...errors },
});
export const body = (s: unknown) => ({ requestBody: { required: true, content: json(s) } });
export const query = (name: string, description: string, s: JsonSchema) => ({
  name,
  in: "query",
  description,
  schema: s,
});
export const pathParam = (name: string, type = "string") => ({
  name,
  in: "path",
  required: true,
  schema: { type },
});

/** Query parameters from a zod object: one per key, with its description. */
export const queryParameters = (zod: z.ZodObject) =>
  Object.entries(zod.shape).map(([name, field]) =>
    query(name, (field as z.ZodType).description ?? name, schema(field as z.ZodType)),
  );

export const counts = { type: "object", additionalProperties: { type: "integer" } };
export const strings = { type: "array", items: { type: "string" } };
