// Drives Debian's Chromium (never a downloaded browser) headless with playwright-core: opens the
// page, then runs one `window.steps` step per JSON line on stdin and answers one JSON line on
// stdout: {"ok": true, "result": ...} or {"ok": false, "error": "..."}. Page console output and
// failed requests go to stderr. Usage: node driver.mjs <page url> <chromium path> <profile dir>
import readline from "node:readline";
import { chromium } from "playwright-core";

const [pageUrl, executablePath, profileDir] = process.argv.slice(2);
const flags = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const context = await chromium.launchPersistentContext(profileDir, {
  executablePath,
  headless: true,
  args: flags,
});
const page = context.pages()[0] ?? (await context.newPage());
page.on("console", (message) => process.stderr.write(`[page ${message.type()}] ${message.text()}\n`));
page.on("pageerror", (error) => process.stderr.write(`[page error] ${error.message}\n`));
await page.goto(pageUrl);
await page.waitForFunction(() => window.steps !== undefined);
process.stdout.write(`${JSON.stringify({ ok: true, result: "ready" })}\n`);

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const { step, args } = JSON.parse(line);
  let answer;
  try {
    const result = await page.evaluate(([name, values]) => window.steps[name](...values), [step, args]);
    answer = { ok: true, result: result ?? null };
  } catch (error) {
    answer = { ok: false, error: String(error?.message ?? error) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
await context.close();
