/** Marks the store's commands that reach every shard, so each is a decision the wire test sees. */

/**
 * The comment of a command that reaches every shard once the collections are sharded (README,
 * Sizing): a read or multi-document write that names no shard key. The wire test
 * (test/e2e/shard-wire.test.ts) lets only commands marked so through, so each is a decision.
 */
export const scatter = (why: string) => ({ comment: `scatter: ${why}` }) as const;
