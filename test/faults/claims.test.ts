import { expect, it } from "vitest";
import { useStack } from "../support/stack.js";

const { stack } = useStack(import.meta.filename);

it("8 workers claiming 10,000 works never get the same attempt twice", {
  timeout: 180_000,
}, async () => {
  const depositor = stack.client();
  const total = 10_000;
  for (let at = 0; at < total; at += 1_000) {
    await depositor.deposit(
      Array.from({ length: 1_000 }, (_, i) => ({
        pipeline: "race",
        site: "s",
        user: "admin",
        command: ["true"],
        event: [at + i],
      })),
    );
  }
  const claims: string[] = [];
  const worker = async (n: number) => {
    const client = stack.client({
      user: `w${n}`,
      scopes: ["work:withdraw"],
      workerId: `race/${n}`,
    });
    for (;;) {
      const batch = await client.withdraw({ pipeline: "race" }, { count: 20 });
      if (batch.length === 0) return;
      for (const work of batch) claims.push(`${work.id}#${work.attempt}`);
      await client.update(
        batch.map((w) => ({ id: w.id, attempt: w.attempt, status: "success" as const })),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, n) => worker(n)));

  expect(claims).toHaveLength(total);
  expect(new Set(claims).size).toBe(total);
  expect(await depositor.count({ pipeline: "race", status: "success" })).toBe(total);
});
