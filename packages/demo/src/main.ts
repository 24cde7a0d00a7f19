import {
  type AppNotice,
  type BackedUpApp,
  createDeviceHub,
  type DeviceHub,
  type NetworkState,
  type Replication,
} from "@hokan/core";
import { DexieStore } from "@hokan/storage";
import { createHttpTransport } from "@hokan/transport";
import { BehaviorSubject } from "rxjs";
import { dateTime, esc, itemCount, type Lang, noticeText, phrase, t, when } from "./i18n.js";
import { mountSamples, SAMPLE_APPS } from "./sample-apps.js";

const root = document.querySelector<HTMLElement>("#screen") as HTMLElement;
const status = document.querySelector<HTMLElement>("#message") as HTMLElement;
const confirmDialog = document.querySelector<HTMLDialogElement>("#confirm-delete") as HTMLDialogElement;
const samplesHost = document.querySelector<HTMLElement>("#samples") as HTMLElement;
let lang: Lang = (localStorage.getItem("hokan-lang") as Lang | null) ?? "ja";
const deviceId = localStorage.getItem("hokan-device-id") ?? `web-${crypto.randomUUID().slice(0, 8)}`;
localStorage.setItem("hokan-device-id", deviceId);

// Browsers cannot see roaming, and a demo wants to go offline at will: both are switches on the page.
const simulated = { offline: false, roaming: false };
const network$ = new BehaviorSubject<NetworkState>({ online: navigator.onLine, roaming: false });
const updateNetwork = () =>
  network$.next({ online: navigator.onLine && !simulated.offline, roaming: simulated.roaming });
addEventListener("online", updateNetwork);
addEventListener("offline", updateNetwork);

// Whether the account's contract includes backup, as the carrier's systems would tell: a switch on the page here.
const entitled$ = new BehaviorSubject<boolean>(true);

const tokens = new Map<string, Promise<string>>();
async function token(account: string, refresh: boolean): Promise<string> {
  if (refresh || !tokens.has(account)) {
    tokens.set(
      account,
      fetch("/v1/dev/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ account }),
      })
        .then((r) => r.json() as Promise<{ token: string }>)
        .then((r) => r.token),
    );
  }
  return tokens.get(account) as Promise<string>;
}

const hub: DeviceHub = await createDeviceHub({
  store: new DexieStore({ name: "hokan-demo" }),
  connect: (account) =>
    createHttpTransport({ baseUrl: location.origin, token: ({ refresh }) => token(account, refresh) }),
  deviceId,
  platform: "web",
  network$,
  entitled$,
});
if (hub.account === null && !localStorage.getItem("hokan-demo-signed-out")) await hub.setAccount("alice");
const replications = new Map<string, Replication>();
for (const app of SAMPLE_APPS) {
  // Without an account the hub keeps the app registered and says so (no-account); it starts with the next account.
  const started = await hub.register(app).catch((error: unknown) => {
    if ((error as { code?: string }).code !== "no-account") throw error;
    return undefined;
  });
  if (started) replications.set(app.appId, started);
}

let list: readonly BackedUpApp[] = [];
/** What the last action did, announced (aria-live) and shown under the list. */
let message = "";
/** A bulk backup in progress: apps done of all. */
let progress: { done: number; total: number } | undefined;

/** An app's name as the user knows it: never its reverse-DNS id. */
const nameOf = (a: { name?: string }) => a.name ?? t(lang, "unnamedApp");

/** An app's state in words: what happens, and why it waits. */
function stateWords(a: BackedUpApp): string {
  if (a.state === "up-to-date") return phrase(lang, a.lastBackupAt ? "up-to-date" : "never-backed-up");
  // A retry after a failure says what failed, not only that something is on its way.
  const failing = a.lastError ? ` — ${phrase(lang, a.lastError.code)}` : "";
  if (a.state === "pending") return `${phrase(lang, "pending")} (${a.pending})${failing}`;
  if (a.state === "syncing" && a.lastError) return `${phrase(lang, "retrying")}${failing}`;
  if (a.state === "held") return phrase(lang, a.reason ?? "held");
  if (a.state === "failed") return phrase(lang, a.lastError?.code ?? a.reason);
  // A restore in progress says how far it has come.
  if (a.state === "syncing" && a.received)
    return `${phrase(lang, "syncing")} (${itemCount(lang, a.received)})`;
  if (a.state === "syncing" || a.state === "not-on-device") return phrase(lang, a.state);
  return phrase(lang, a.reason ?? a.state);
}

/** A notice under the app's name; an update due links to where the registry says the update is got. */
function noticeHtml(a: BackedUpApp, n: AppNotice): string {
  const link =
    n.kind === "update-by" && n.url
      ? ` <a href="${esc(n.url)}" target="_blank" rel="noopener noreferrer" data-testid="update-link">${esc(t(lang, "updateApp"))}<span class="visually-hidden"> (${esc(nameOf(a))})</span></a>`
      : "";
  return `<span class="notice" data-testid="notice" data-kind="${n.kind}">${esc(noticeText(lang, n))}${link}</span>`;
}

function render(): void {
  document.documentElement.lang = lang;
  const s = hub.settings;
  const rows = list
    .map(
      (a) => `<tr data-testid="app-row" data-app="${esc(a.appId)}">
        <th scope="row">${esc(nameOf(a))}${(a.notices ?? []).map((n) => noticeHtml(a, n)).join("")}</th>
        <td data-label="${esc(t(lang, "lastBackup"))}" data-testid="last-backup" ${a.lastBackupAt ? `title="${esc(dateTime(lang, a.lastBackupAt))}"` : ""}>${esc(a.lastBackupAt ? when(lang, a.lastBackupAt) : t(lang, "notYet"))}</td>
        <td data-label="${esc(t(lang, "documents"))}" data-testid="documents">${a.documents}</td>
        <td data-label="${esc(t(lang, "status"))}"><span class="badge ${a.state}" data-testid="state" data-state="${a.state}">${esc(stateWords(a))}</span></td>
      </tr>`,
    )
    .join("");
  const busy = progress !== undefined;
  root.innerHTML = `
    <header>
      <h1 data-testid="title">${esc(t(lang, "title"))}</h1>
      <button class="link" data-testid="language" lang="${lang === "ja" ? "en" : "ja"}">${esc(t(lang, "language"))}</button>
    </header>
    <section aria-labelledby="account-heading">
      <h2 id="account-heading">${esc(t(lang, "account"))}</h2>
      <label for="account">${esc(t(lang, "account"))}</label>
      <select id="account" data-testid="account"><option value="" ${hub.account === null ? "selected" : ""}>${esc(t(lang, "noAccountOption"))}</option>${["alice", "bob"].map((a) => `<option ${a === hub.account ? "selected" : ""}>${a}</option>`).join("")}</select>
      <p class="muted">${esc(t(lang, "deviceId"))}: ${esc(deviceId)}</p>
    </section>
    <section aria-labelledby="settings-heading">
      <h2 id="settings-heading">${esc(t(lang, "settings"))}</h2>
      <label><input type="checkbox" data-testid="backup-enabled" ${s.backupEnabled ? "checked" : ""}/> ${esc(t(lang, "backupEnabled"))}</label>
      <label><input type="checkbox" data-testid="overseas-enabled" ${s.overseasEnabled ? "checked" : ""}/> ${esc(t(lang, "overseasEnabled"))}</label>
      <fieldset>
        <legend class="muted">${esc(t(lang, "network"))}</legend>
        <label><input type="checkbox" data-testid="online" ${simulated.offline ? "" : "checked"}/> ${esc(t(lang, "online"))}</label>
        <label><input type="checkbox" data-testid="roaming" ${simulated.roaming ? "checked" : ""}/> ${esc(t(lang, "roaming"))}</label>
        <label><input type="checkbox" data-testid="entitled" ${entitled$.value ? "checked" : ""}/> ${esc(t(lang, "entitled"))}</label>
      </fieldset>
      ${entitled$.value ? "" : `<p class="roaming" data-testid="not-entitled">${esc(t(lang, "notEntitledNow"))}</p>`}
      ${network$.value.online ? "" : `<p class="roaming" data-testid="offline-now">${esc(t(lang, "offlineNow"))}</p>`}
      ${simulated.roaming ? `<p class="roaming" data-testid="roaming-now">${esc(t(lang, s.overseasEnabled ? "roamingAllowed" : "roamingNow"))}</p>` : ""}
    </section>
    <section aria-labelledby="apps-heading">
      <h2 id="apps-heading">${esc(t(lang, "apps"))}</h2>
      ${hub.account === null ? `<p data-testid="no-account">${esc(t(lang, "noAccount"))}</p>` : ""}
      ${list.length ? `<table><thead><tr><th scope="col">${esc(t(lang, "app"))}</th><th scope="col">${esc(t(lang, "lastBackup"))}</th><th scope="col">${esc(t(lang, "documents"))}</th><th scope="col">${esc(t(lang, "status"))}</th></tr></thead><tbody>${rows}</tbody></table>` : `<p>${esc(t(lang, "none"))}</p>`}
      <div class="actions">
        <button data-testid="bulk-backup" ${busy || hub.account === null ? "disabled" : ""}>${esc(t(lang, "bulkBackup"))}</button>
      </div>
    </section>
    <section aria-labelledby="danger-heading" class="danger-zone">
      <h2 id="danger-heading">${esc(t(lang, "dangerZone"))}</h2>
      <p class="muted">${esc(t(lang, "dangerNote"))}</p>
      <button class="danger" data-testid="bulk-delete" ${hub.account === null ? "disabled" : ""}>${esc(t(lang, "bulkDelete"))}</button>
    </section>`;
  const on = (id: string, fn: (e: Event) => void, event = "change") =>
    root.querySelector(`[data-testid="${id}"]`)?.addEventListener(event, fn);
  on(
    "language",
    () => {
      lang = lang === "ja" ? "en" : "ja";
      localStorage.setItem("hokan-lang", lang);
      // The last result was said in the other language: it goes, rather than stay in words the user did not choose.
      message = "";
      render();
      remountSamples();
    },
    "click",
  );
  on("backup-enabled", (e) => void hub.setBackupEnabled((e.target as HTMLInputElement).checked));
  on("overseas-enabled", (e) => void hub.setOverseasEnabled((e.target as HTMLInputElement).checked));
  // network$ draws the screen again (its subscription below).
  on("online", (e) => {
    simulated.offline = !(e.target as HTMLInputElement).checked;
    updateNetwork();
  });
  on("entitled", (e) => {
    entitled$.next((e.target as HTMLInputElement).checked);
    render();
  });
  on("roaming", (e) => {
    simulated.roaming = (e.target as HTMLInputElement).checked;
    updateNetwork();
  });
  on("account", (e) => {
    const account = (e.target as HTMLSelectElement).value || null;
    void hub.setAccount(account).then(async () => {
      replications.clear();
      if (account !== null) {
        for (const app of SAMPLE_APPS) replications.set(app.appId, hub.app(app.appId));
      }
      // A device signed out on purpose stays so across reloads (the demo signs in as alice only at first).
      localStorage.setItem("hokan-demo-signed-out", account === null ? "1" : "");
      render();
      remountSamples();
    });
  });
  on("bulk-backup", () => void bulkBackup(), "click");
  on("bulk-delete", openConfirm, "click");
  announce();
}

/** The result of the last action, or the progress of the running one, in the page's one live region. */
function announce(): void {
  const text = progress
    ? `${t(lang, "bulkBackupRunning")} ${progress.done} ${t(lang, "of")} ${progress.total}`
    : message;
  if (status.textContent !== text) status.textContent = text;
}

/**
 * Bulk delete asks first, in a modal dialog that names the apps whose backups go. It lives outside the re-rendered
 * screen, so the list's live updates cannot close it; focus starts on Cancel and returns to the button after.
 */
function openConfirm(): void {
  const backed = list.filter((a) => a.documents > 0);
  confirmDialog.innerHTML = `
    <h2 id="confirm-title">${esc(t(lang, "confirmTitle"))}</h2>
    <div id="confirm-body">${
      backed.length
        ? `<p>${esc(t(lang, "confirmBody"))}</p><ul data-testid="confirm-apps">${backed.map((a) => `<li>${esc(nameOf(a))}</li>`).join("")}</ul>`
        : `<p>${esc(t(lang, "confirmNone"))}</p>`
    }</div>
    <form method="dialog" class="actions">
      <button value="cancel" data-testid="confirm-cancel" autofocus>${esc(t(lang, "cancel"))}</button>
      <button value="delete" class="danger" data-testid="confirm-yes">${esc(t(lang, "confirmDelete"))}</button>
    </form>`;
  confirmDialog.returnValue = "";
  confirmDialog.showModal();
}
confirmDialog.addEventListener("close", () => {
  (root.querySelector('[data-testid="bulk-delete"]') as HTMLElement | null)?.focus();
  if (confirmDialog.returnValue === "delete") void bulkDelete();
});

/** Bulk backup: progress as each app finishes, then what the server acknowledged for each app. */
async function bulkBackup(): Promise<void> {
  progress = { done: 0, total: list.length };
  render();
  const results = await hub.bulkBackup({
    onProgress: (done, total) => {
      progress = { done, total };
      render();
    },
  });
  progress = undefined;
  const names = new Map(list.map((a) => [a.appId, nameOf(a)]));
  const name = (appId: string) => names.get(appId) ?? t(lang, "unnamedApp");
  const done = results.filter((r) => r.outcome === "backed-up").length;
  message = [
    `${done} ${t(lang, "of")} ${results.length} ${t(lang, "bulkBackupDone")}`,
    ...results.map((r) => {
      if (r.outcome === "backed-up") return `${name(r.appId)}: ${t(lang, "backedUp")}`;
      if (r.outcome === "held") return `${name(r.appId)}: ${t(lang, "waiting")} (${phrase(lang, r.reason)})`;
      return `${name(r.appId)}: ${t(lang, "notBackedUp")} (${phrase(lang, r.error.code)})`;
    }),
  ].join(" · ");
  render();
}

/** Bulk delete, once confirmed: what was deleted, what could not be, or why nothing was. */
async function bulkDelete(): Promise<void> {
  message = t(lang, "deleting");
  render();
  try {
    const result = await hub.bulkDelete();
    const names = new Map(list.map((a) => [a.appId, nameOf(a)]));
    message = result.skipped?.length
      ? `${t(lang, "deleted")} · ${t(lang, "skipped")}: ${result.skipped.map((s) => `${names.get(s.appId) ?? t(lang, "unnamedApp")} (${phrase(lang, s.code)})`).join(", ")}`
      : t(lang, "deleted");
  } catch (error) {
    message = `${t(lang, "notDeleted")}: ${phrase(lang, (error as { code?: string }).code ?? "server")}`;
  }
  render();
}

let unmountSamples: (() => void) | undefined;
function remountSamples(): void {
  unmountSamples?.();
  unmountSamples = undefined;
  samplesHost.innerHTML = `<h2>${esc(t(lang, "samples"))}</h2>`;
  // Without an account the apps keep nothing to back up: they wait for one.
  if (hub.account === null)
    samplesHost.insertAdjacentHTML("beforeend", `<p class="muted">${esc(t(lang, "noAccount"))}</p>`);
  else unmountSamples = mountSamples(samplesHost, replications, lang);
}

hub.apps$.subscribe((next) => {
  list = next;
  render();
});
hub.settings$.subscribe(() => render());
// 「たった今」 becomes 「1 分前」: the last-backup cells are written again every half minute (only they, so focus and
// an open select are left alone).
setInterval(() => {
  for (const a of list) {
    const cell = root.querySelector(`[data-app="${CSS.escape(a.appId)}"] [data-testid="last-backup"]`);
    if (cell && a.lastBackupAt) cell.textContent = when(lang, a.lastBackupAt);
  }
}, 30_000);
network$.subscribe(() => render());
render();
remountSamples();
(window as unknown as { hokanReady: boolean }).hokanReady = true;
