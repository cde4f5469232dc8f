import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { type Owned, ROOT } from "./processes.js";
import { type Stack, startStack } from "./stack.js";
import { standIn } from "./stand-in.js";

/**
 * A dashboard test file's set-up: the real service (its stack) and Chromium through
 * playwright-core; a fresh context and page per scenario (its own sessionStorage, so each signs in
 * afresh); after each, a screenshot under test/artifacts/dashboard, the processes it started
 * killed, and a failure if the page logged a console error the scenario did not expect.
 */

export const ARTIFACTS = join(ROOT, "test", "artifacts", "dashboard");

export interface Dashboard {
  stack: Stack;
  /** The running scenario's page and its context. */
  page: Page;
  context: BrowserContext;
  /** Processes the scenario started: SIGKILLed after it. */
  owned: Owned[];
  /** Console errors the running scenario expects (a refused token's 401), by pattern. */
  expectErrors(...patterns: RegExp[]): void;
  /** Signs in on the dashboard with `token` (the admin's by default), as a person does. */
  signIn(token?: string): Promise<void>;
}

export function useDashboard(
  file: string,
  {
    env = {},
    viewport = { width: 1400, height: 900 },
    screenshots = "",
  }: {
    env?: Record<string, string>;
    viewport?: { width: number; height: number };
    /** What each scenario's screenshot name starts with. */
    screenshots?: string;
  } = {},
): Dashboard {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let consoleErrors: string[] = [];
  let expected: RegExp[] = [];
  const owned: Owned[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack(file, env);
    browser = await chromium.launch({
      // On these machines Debian's chromium (../shared/browser/env.sh); elsewhere the one that
      // `npx playwright install chromium` downloaded, which playwright-core finds by itself.
      ...(process.env.CHROME_PATH ? { executablePath: process.env.CHROME_PATH } : {}),
      args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
    });
  });
  afterAll(async () => {
    await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
    await browser?.close();
    await stack?.close();
  });
  beforeEach(async () => {
    context = await (browser as Browser).newContext({ viewport });
    const opened = await context.newPage();
    consoleErrors = [];
    expected = [];
    opened.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    opened.on("pageerror", (error) => consoleErrors.push(`uncaught: ${error.message}`));
    page = opened;
  });
  afterEach(async (test) => {
    const name = test.task.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    await page?.screenshot({ path: join(ARTIFACTS, `${screenshots}${name}.png`), fullPage: true });
    await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
    await context?.close();
    const unexpected = consoleErrors.filter((text) => !expected.some((re) => re.test(text)));
    expect(unexpected, "the page logged console errors").toEqual([]);
  });

  const theStack = standIn(() => stack, "the stack");
  const thePage = standIn(() => page, "the page");
  return {
    stack: theStack,
    page: thePage,
    context: standIn(() => context, "the browser context"),
    owned,
    expectErrors: (...patterns) => {
      expected = patterns;
    },
    async signIn(token = theStack.token("admin", ["admin"])) {
      await thePage.goto(`${theStack.url}/`);
      // The tab keeps an earlier test's token (sessionStorage): signed out first, it takes this one.
      await thePage.locator("#token, header nav").first().waitFor();
      if ((await thePage.locator("#token").count()) === 0) {
        await thePage.getByRole("button", { name: "Sign out" }).click();
      }
      await thePage.locator("#token").fill(token);
      await thePage.getByRole("button", { name: "Sign in" }).click();
      await thePage.locator("header nav").waitFor();
    },
  };
}
