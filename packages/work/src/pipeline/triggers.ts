/**
 * A config's `on:`, what starts its runs: crons (each a schedule once the config is deployed)
 * and `manual`, without which nobody starts a run by hand. A config without `on` runs by hand only.
 */

import { z } from "zod";
import { CronSchema, MissedSchema, TimezoneSchema } from "../schedule.js";

/** The most triggers one config may hold. */
export const MAX_TRIGGERS = 20;

const CronTriggerSchema = z.strictObject({
  cron: CronSchema,
  timezone: TimezoneSchema.default("UTC"),
  missed: MissedSchema.optional(),
});
const ManualTriggerSchema = z.strictObject({
  manual: z.literal(true, { error: "manual must be true (leave it out to forbid runs by hand)" }),
});

export const TriggerSchema = z.union([CronTriggerSchema, ManualTriggerSchema], {
  error: 'each trigger of on is {cron: "0 2 * * *", timezone?: "Europe/Berlin"} or {manual: true}',
});
export type Trigger = z.output<typeof TriggerSchema>;
export type CronTrigger = z.output<typeof CronTriggerSchema>;

export const TriggersSchema = z
  .array(TriggerSchema)
  .min(1, { error: "on must name at least one trigger" })
  .max(MAX_TRIGGERS, { error: `on may name at most ${MAX_TRIGGERS} triggers` });

export const isCron = (trigger: Trigger): trigger is CronTrigger => "cron" in trigger;

/** Whether a config may be started by hand: no `on`, or one with `{manual: true}`. */
export function runsByHand(on: Trigger[] | undefined): boolean {
  return on === undefined || on.some((t) => !isCron(t));
}

/** The name of the schedule a deployed config's cron trigger becomes. */
export const triggerScheduleName = (config: string, index: number) => `${config}.on.${index + 1}`;

/** What `${{ release.time }}` gives: the time a run is released for, as ISO 8601 in UTC. */
export const releaseTime = (seconds: number) => new Date(seconds * 1000).toISOString();

/** `at` of POST /runs: when the run is released, as unix seconds or ISO 8601 with an offset. */
export const RunAtSchema = z.union(
  [
    z.number().nonnegative(),
    z.iso.datetime({ offset: true, local: false }).transform((text) => Date.parse(text) / 1000),
  ],
  {
    error:
      "at must be a time: unix seconds, or ISO 8601 with an offset such as 2027-01-01T09:00:00+01:00",
  },
);
