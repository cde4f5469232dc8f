/** The Slack message of a work's outcome, sent by the worker. */

import { type Block, type KnownBlock, LogLevel, WebClient } from "@slack/web-api";
import { Settings, type SettingsOptions, type StoredWork } from "@workflow/work";
import type { Logger } from "./logger.js";
import type { Outcome } from "./runner/outcome.js";

export const DEFAULT_SLACK_API_URL = "https://slack.com/api/";
/** Slack refuses section text past 3,000 characters. */
const MAX_TEXT = 2_900;

export interface SlackSettings {
  token: string | undefined;
  apiUrl: string;
}

/** The bot token (WORKFLOW_NOTIFY_SLACK_TOKEN, then SLACK_BOT_TOKEN) and the API's URL. */
export function resolveSlackSettings(options: SettingsOptions = {}): SlackSettings {
  const settings = new Settings(options);
  return {
    token: settings.first(["WORKFLOW_NOTIFY_SLACK_TOKEN", "SLACK_BOT_TOKEN"])?.raw.trim(),
    apiUrl: settings.get("WORKFLOW_NOTIFY_SLACK_API_URL")?.raw.trim() || DEFAULT_SLACK_API_URL,
  };
}

export interface Finished {
  work: StoredWork;
  outcome: Outcome;
  seconds: number;
  host: string;
}

/**
 * Tells Slack how a work ended, when the work asks for it. Answers Slack's reply to keep in
 * `notify.slack.reply`. A Slack failure is logged and never fails the work.
 */
export async function notifySlack(
  finished: Finished,
  settings: SlackSettings,
  logger: Logger,
): Promise<Record<string, unknown> | undefined> {
  const slack = finished.work.notify?.slack;
  const members = slack?.member_ids ?? [];
  if (!slack?.channel_id && members.length === 0) return undefined;
  if (!settings.token) {
    logger.warn(
      "work asks for Slack but no token is set (WORKFLOW_NOTIFY_SLACK_TOKEN or SLACK_BOT_TOKEN)",
    );
    return undefined;
  }
  const client = new WebClient(settings.token, {
    slackApiUrl: settings.apiUrl,
    logLevel: LogLevel.ERROR,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 1_000 },
    timeout: 10_000,
  });
  const message = describe(finished);
  try {
    let reply: Record<string, unknown> | undefined;
    if (slack.channel_id) {
      const posted = await client.chat.postMessage({ channel: slack.channel_id, ...message });
      reply = { ok: posted.ok, channel: posted.channel, ts: posted.ts };
    }
    for (const member of members) {
      const opened = await client.conversations.open({ users: member });
      const channel = opened.channel?.id;
      if (!channel) continue;
      const posted = await client.chat.postMessage({ channel, ...message });
      reply ??= { ok: posted.ok, channel: posted.channel, ts: posted.ts };
    }
    return reply;
  } catch (error) {
    logger.warn(
      { err: error, work: finished.work.id },
      "Slack notification failed; the work's outcome stands",
    );
    return undefined;
  }
}

/** Block Kit content: what ran, where, how long, its outcome, and what the work asked to show. */
export function describe({ work, outcome, seconds, host }: Finished): {
  text: string;
  blocks: (Block | KnownBlock)[];
} {
  const slack = work.notify?.slack ?? {};
  const icon = { success: ":white_check_mark:", failure: ":x:", cancelled: ":no_entry_sign:" }[
    outcome.status
  ];
  const text = `${icon} ${work.pipeline} ${work.id}: ${outcome.status}`;
  const field = (label: string, value: string) => ({
    type: "mrkdwn" as const,
    text: `*${label}*\n${value}`,
  });
  const blocks: (Block | KnownBlock)[] = [
    ...(slack.message
      ? [{ type: "section", text: { type: "mrkdwn", text: clip(slack.message) } } as KnownBlock]
      : []),
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: `${icon} *${work.pipeline}* \`${work.id}\` *${outcome.status}*`,
      },
    },
    {
      type: "section",
      fields: [
        field("Pipeline", work.pipeline),
        field("Status", outcome.status),
        field("Site", `${work.site} (${host})`),
        field("Duration", `${seconds.toFixed(1)} s`),
        field("Attempt", `${work.attempt} of ${work.retries + 1}`),
        field("Id", work.id),
      ],
    },
  ];
  const add = (label: string, value: unknown) =>
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: clip(`*${label}*\n\`\`\`${JSON.stringify(value, null, 1)}\`\`\``),
      },
    });
  if (slack.results && outcome.results) add("Results", outcome.results);
  if (slack.products && outcome.products?.length) add("Products", outcome.products);
  if (slack.plots && outcome.plots?.length) add("Plots", outcome.plots);
  if (slack.blocks) blocks.push(...(slack.blocks as KnownBlock[]));
  return { text, blocks };
}

const clip = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);
