/**
 * Followers of an attempt's logs: one poll of MongoDB per followed attempt however many follow,
 * within limits.
 */

import type { LogLine } from "@workflow/work";
import { ServiceError } from "../errors.js";
import type { ObjectId } from "../store/ids.js";
import type { Batch, LogOwner } from "../store/logs.js";
import type { ServiceContext } from "./context.js";

/** How often one attempt's followers are served new lines, in ms. */
export const FOLLOW_POLL_MS = 500;

export interface FollowLimits {
  /** Followers at once on this instance; past it a follow is a 503. */
  max: number;
  /** Followers at once with one token's subject; past it a follow is a 429. */
  perToken: number;
}

export interface Step {
  lines: LogLine[];
  ended: boolean;
}

interface Subscriber {
  /** The newest batch this follower has: later deliveries skip what it read itself. */
  seen: ObjectId | undefined;
  /** Deliveries that came before the follower's own first read finished. */
  early: { batches: Batch[]; ended: boolean }[] | undefined;
  deliver: (step: Step) => void;
}

interface Feed {
  subscribers: Set<Subscriber>;
  last: ObjectId | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One poll of MongoDB per followed attempt, however many follow it: the feed reads whether the
 * attempt ended and its new batches every FOLLOW_POLL_MS while anyone follows, and hands them to
 * every follower. Each follow also counts against the limits, per token subject and overall: a
 * thousand followers of their own once slowed every withdraw a hundredfold.
 */
export function createFollowHub(ctx: ServiceContext, limits: FollowLimits) {
  const feeds = new Map<string, Feed>();
  const perSubject = new Map<string, number>();
  let total = 0;

  const admit = (subject: string): (() => void) => {
    if (total >= limits.max)
      throw new ServiceError(
        "unavailable",
        `${limits.max} log followers are already connected (BUCKETS_MAX_LOG_FOLLOWERS); retry shortly`,
      );
    const mine = perSubject.get(subject) ?? 0;
    if (mine >= limits.perToken)
      throw new ServiceError(
        "too_many_requests",
        `"${subject}" already follows ${mine} logs (BUCKETS_MAX_LOG_FOLLOWERS_PER_TOKEN); stop one or retry later`,
      );
    total++;
    perSubject.set(subject, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      total--;
      const left = (perSubject.get(subject) ?? 1) - 1;
      if (left > 0) perSubject.set(subject, left);
      else perSubject.delete(subject);
    };
  };

  const poll = async (key: string, feed: Feed, owner: LogOwner, attempt: number): Promise<void> => {
    feed.timer = undefined;
    let batches: Batch[] = [];
    let ended = false;
    try {
      // Whether it ended is read before the lines: a line appended before the end is not missed.
      const now = await ctx.store.findOne(owner._id.toHexString(), owner.pipeline);
      ended = now?.status !== "running" || now.attempt !== attempt;
      const read = await ctx.store.logs.read(owner, attempt, feed.last);
      feed.last = read.last;
      batches = read.batches;
    } catch (error) {
      ctx.events.emit("task:error", "following logs", error);
    }
    for (const subscriber of feed.subscribers) {
      if (subscriber.early) subscriber.early.push({ batches, ended });
      else subscriber.deliver(stepFor(subscriber, batches, ended));
    }
    if (ended || feed.subscribers.size === 0) {
      if (feeds.get(key) === feed) feeds.delete(key);
      feed.subscribers.clear();
    } else schedule(key, feed, owner, attempt);
  };
  const schedule = (key: string, feed: Feed, owner: LogOwner, attempt: number) => {
    feed.timer ??= setTimeout(() => void poll(key, feed, owner, attempt), FOLLOW_POLL_MS).unref();
  };

  return {
    get followers(): number {
      return total;
    },

    /**
     * Follows an attempt: `onStep` gets every line from the first kept, then new ones as they
     * come, and `ended` once. Answers the cut of the first read, and how to stop.
     */
    async follow(
      subject: string,
      owner: LogOwner,
      attempt: number,
      onStep: (step: Step) => void,
    ): Promise<{ cut: number; stop: () => void }> {
      const release = admit(subject);
      const key = `${owner._id.toHexString()}:${owner.incarnation?.toHexString() ?? ""}:${attempt}`;
      let feed = feeds.get(key);
      if (!feed) {
        const fresh: Feed = { subscribers: new Set(), last: undefined, timer: undefined };
        feeds.set(key, fresh);
        feed = fresh;
      }
      const subscriber: Subscriber = { seen: undefined, early: [], deliver: onStep };
      feed.subscribers.add(subscriber);
      const stop = () => {
        release();
        feed.subscribers.delete(subscriber);
        if (feed.subscribers.size > 0) return;
        clearTimeout(feed.timer);
        feed.timer = undefined;
        if (feeds.get(key) === feed) feeds.delete(key);
      };
      try {
        // The follower's own first read: every line so far, whatever the feed had read before.
        const first = await ctx.store.logs.read(owner, attempt);
        feed.last ??= first.last;
        subscriber.seen = first.last;
        const early = subscriber.early ?? [];
        subscriber.early = undefined;
        onStep({ lines: first.batches.flatMap((b) => b.lines), ended: false });
        for (const step of early) onStep(stepFor(subscriber, step.batches, step.ended));
        if (feed.subscribers.has(subscriber)) schedule(key, feed, owner, attempt);
        return { cut: first.cut, stop };
      } catch (error) {
        stop();
        throw error;
      }
    },
  };
}

export type FollowHub = ReturnType<typeof createFollowHub>;

/** The batches this follower has not seen yet, as one step. */
function stepFor(subscriber: Subscriber, batches: Batch[], ended: boolean): Step {
  const seen = subscriber.seen;
  const fresh = seen
    ? batches.filter((batch) => batch._id.toHexString() > seen.toHexString())
    : batches;
  const newest = fresh.at(-1);
  if (newest) subscriber.seen = newest._id;
  return { lines: fresh.flatMap((batch) => batch.lines), ended };
}
