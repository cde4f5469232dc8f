import { type Block, type KnownBlock, LogLevel, WebClient } from "@slack/web-api";
import type { RunDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";

/** Slack refuses section text past 3,000 characters. */
const MAX_TEXT = 2_900;
/** How many steps the message lists; a longer run says how many more it has. */
const STEPS_SHOWN = 20;

const ICONS = {
  running: ":hourglass:",
  success: ":white_check_mark:",
  failure: ":x:",
  cancelled: ":no_entry_sign:",
  timedout: ":alarm_clock:",
} as const satisfies Record<RunDoc["status"], string>;

const clip = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

/** The run's one message: how it ended, its works by status, and each step's state. */
function runMessage(
  run: RunDoc,
  byStatus: Record<string, number>,
): { text: string; blocks: (Block | KnownBlock)[] } {
  const target = run.slack?.target ?? {};
  const id = run._id.toHexString();
  const icon = ICONS[run.status];
  const text = `${icon} run ${run.name} ${id}: ${run.status}`;
  const works = Object.entries(byStatus)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${status} ${n}`)
    .join(", ");
  const seconds = (run.finished ?? run.created) - run.created;
  const field = (label: string, value: string) => ({
    type: "mrkdwn" as const,
    text: `*${label}*\n${value}`,
  });
  const steps = run.steps
    .slice(0, STEPS_SHOWN)
    .map((s) => `• ${s.name}: ${s.outcome ?? (s.released ? "running" : "waiting")} (${s.works})`);
  if (run.steps.length > STEPS_SHOWN) steps.push(`… and ${run.steps.length - STEPS_SHOWN} more`);
  const blocks: (Block | KnownBlock)[] = [
    ...(target.message
      ? [{ type: "section", text: { type: "mrkdwn", text: clip(target.message) } } as KnownBlock]
      : []),
    {
      type: "section",
      text: { type: "mrkdwn", text: `${icon} run *${run.name}* \`${id}\` *${run.status}*` },
    },
    {
      type: "section",
      fields: [
        field("User", run.user),
        field("Duration", `${seconds.toFixed(0)} s`),
        field("Works", works || "none"),
        field("Pipelines", run.pipelines.join(", ")),
      ],
    },
    { type: "section", text: { type: "mrkdwn", text: clip(`*Steps*\n${steps.join("\n")}`) } },
  ];
  if (target.blocks) blocks.push(...(target.blocks as KnownBlock[]));
  return { text, blocks };
}

/** Posts the run's one message to its channel and members; answers why it failed, if it did. */
export async function sendSlack(ctx: ServiceContext, run: RunDoc): Promise<string | undefined> {
  if (!ctx.slack) return "the service has no Slack token (BUCKETS_SLACK_TOKEN)";
  const target = run.slack?.target ?? {};
  const counts = await ctx.store.runWorks.counts(run);
  const byStatus: Record<string, number> = {};
  for (const step of counts.values()) {
    for (const [status, n] of Object.entries(step.byStatus)) {
      byStatus[status] = (byStatus[status] ?? 0) + (n ?? 0);
    }
  }
  const message = runMessage(run, byStatus);
  // The delivery loop retries with its own backoff: the client's own retries would hide failures.
  const client = new WebClient(ctx.slack.token, {
    slackApiUrl: ctx.slack.apiUrl,
    logLevel: LogLevel.ERROR,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
  });
  try {
    if (target.channel_id)
      await client.chat.postMessage({ channel: target.channel_id, ...message });
    for (const member of target.member_ids ?? []) {
      const opened = await client.conversations.open({ users: member });
      if (opened.channel?.id)
        await client.chat.postMessage({ channel: opened.channel.id, ...message });
    }
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
