import { mkdirSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM } from "../../../vitest.shared.js";
import { type RunningDemo, startDemo } from "../demo-server.js";

const ARTIFACTS = new URL("../../../test-artifacts/", import.meta.url).pathname;

describe("the settings screen in Chromium (two browser contexts are two devices)", () => {
  let demo: RunningDemo;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function device(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 820, height: 1100 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on("dialog", (dialog) => void dialog.accept());
    await page.goto(demo.url);
    await page.waitForFunction(
      () => (window as unknown as { hokanReady?: boolean }).hokanReady === true,
      null,
      { timeout: 60_000 },
    );
    return page;
  }
  const mailRow = (page: Page) => page.locator('[data-testid="app-row"][data-app="jp.example.mail"]');
  const mailState = (page: Page) => mailRow(page).locator('[data-testid="state"]');
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });

  let a: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    demo = await startDemo();
    browser = await chromium.launch({
      executablePath: CHROMIUM.executablePath,
      args: [...CHROMIUM.args],
      headless: true,
    });
    a = await device();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await demo?.close();
  });

  it("lists an app's backup with its time right after the backup", async () => {
    await a.selectOption('[data-testid="mail-theme"]', "dark");
    await expect.poll(() => mailState(a).getAttribute("data-state"), { timeout: 15_000 }).toBe("up-to-date");
    await expect.poll(() => mailRow(a).locator('[data-testid="last-backup"]').textContent()).not.toBe("—");
    expect(await mailRow(a).locator('[data-testid="documents"]').textContent()).toBe("1");
    await expect.poll(() => a.textContent('[data-testid="mail-status"]'), { timeout: 15_000 }).toBe("idle");
    await expect.poll(() => mailState(a).getAttribute("data-state"), { timeout: 15_000 }).toBe("up-to-date");
    expect(await a.inputValue('[data-testid="mail-theme"]')).toBe("dark");
    await shot(a, "settings-screen");
  });

  it("holds changes with backup off and sends them when it is on again", async () => {
    await a.uncheck('[data-testid="backup-enabled"]');
    await a.check('[data-testid="mail-tos"]');
    await expect.poll(() => mailState(a).getAttribute("data-state"), { timeout: 15_000 }).toBe("held");
    expect(await mailState(a).textContent()).toContain("利用設定オフ");
    await a.check('[data-testid="backup-enabled"]');
    await expect.poll(() => mailState(a).getAttribute("data-state"), { timeout: 15_000 }).toBe("up-to-date");
    await expect.poll(() => mailRow(a).locator('[data-testid="documents"]').textContent()).toBe("2");
  });

  it("holds while roaming with overseas use off, and releases when overseas use is on", async () => {
    await a.check('[data-testid="roaming"]');
    await expect(a.locator('[data-testid="roaming-now"]').isVisible()).resolves.toBe(true);
    await a.selectOption('[data-testid="mail-theme"]', "light");
    await expect.poll(() => mailState(a).getAttribute("data-state"), { timeout: 15_000 }).toBe("held");
    expect(await mailState(a).textContent()).toContain("海外ローミング中");
    await shot(a, "roaming-held");
    await a.check('[data-testid="overseas-enabled"]');
    await expect.poll(() => mailState(a).getAttribute("data-state"), { timeout: 15_000 }).toBe("up-to-date");
    await a.uncheck('[data-testid="roaming"]');
  });

  it("restores on a second device before its defaults can overwrite the backup", async () => {
    const b = await device();
    await expect.poll(() => b.inputValue('[data-testid="mail-theme"]'), { timeout: 20_000 }).toBe("light");
    await expect.poll(() => b.isChecked('[data-testid="mail-tos"]'), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => mailRow(b).locator('[data-testid="documents"]').textContent()).toBe("2");
    await shot(b, "second-device-restored");
  });

  it("reflects a bulk delete at once here and on the other device", async () => {
    const b = (contexts[1] as BrowserContext).pages()[0] as Page;
    await a.click('[data-testid="bulk-delete"]');
    await expect
      .poll(() => mailRow(a).locator('[data-testid="documents"]').textContent(), { timeout: 15_000 })
      .toBe("0");
    await expect
      .poll(() => mailRow(b).locator('[data-testid="documents"]').textContent(), { timeout: 20_000 })
      .toBe("0");
    expect(await mailRow(b).locator('[data-testid="last-backup"]').textContent()).toBe("—");
    await shot(b, "bulk-delete-on-other-device");
  });

  it("switches language", async () => {
    expect(await a.textContent('[data-testid="title"]')).toContain("アプリデータお預かり");
    await a.click('[data-testid="language"]');
    await expect.poll(() => a.textContent('[data-testid="title"]')).toContain("App data backup");
    expect(await a.textContent('[data-testid="bulk-delete"]')).toBe("Delete all backups");
    await shot(a, "english");
  });
});
