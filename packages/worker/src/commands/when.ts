import { type DurationUnit, UNIT_SECONDS } from "@workflow/work";
import { InvalidArgumentError } from "commander";

/** `--at 2026-12-01T02:00Z`: unix seconds. A time without a zone would depend on the machine: refused. */
export function parseAt(value: string): number {
  const trimmed = value.trim();
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(trimmed) || /^\d{4}-\d\d-\d\d$/.test(trimmed);
  const ms = Date.parse(trimmed);
  if (!zoned || Number.isNaN(ms)) {
    throw new InvalidArgumentError(
      "must be an ISO 8601 time with its zone, e.g. 2026-12-01T02:00Z or 2026-12-01T03:00+01:00",
    );
  }
  return ms / 1000;
}

/** `--in 10m`: seconds from now (s, m, h or d). */
export function parseIn(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError("must be a duration such as 90s, 10m, 2h or 1d");
  return Number(match[1]) * UNIT_SECONDS[(match[2] as string).toLowerCase() as DurationUnit];
}
