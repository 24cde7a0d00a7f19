import {
  type BackedUpApp,
  createDeviceHub,
  type DeviceHub,
  type NetworkState,
  type Replication,
} from "@hokan/core";
import { DexieStore } from "@hokan/storage";
import { createHttpTransport } from "@hokan/transport";
import { BehaviorSubject } from "rxjs";
import { esc, type Lang, t } from "./i18n.js";
import { mountSamples, SAMPLE_APPS } from "./sample-apps.js";

const root = document.querySelector<HTMLElement>("#screen") as HTMLElement;
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
});
if (hub.account === null) await hub.setAccount("alice");
const replications = new Map<string, Replication>();
for (const app of SAMPLE_APPS) replications.set(app.appId, await hub.register(app));

let list: readonly BackedUpApp[] = [];
let message = "";

function render(): void {
  document.documentElement.lang = lang;
  const s = hub.settings;
  const rows = list
    .map(
      (a) => `<tr data-testid="app-row" data-app="${esc(a.appId)}">
        <td>${esc(a.name ?? a.appId)}</td>
        <td data-testid="last-backup">${a.lastBackupAt ? esc(new Date(a.lastBackupAt).toLocaleString(lang === "ja" ? "ja-JP" : "en-GB")) : t(lang, "never")}</td>
        <td data-testid="documents">${a.documents}</td>
        <td><span class="badge ${a.state}" data-testid="state" data-state="${a.state}">${esc(t(lang, a.state))}${a.state === "pending" ? ` (${a.pending})` : ""}${a.reason && a.state === "held" ? `: ${esc(t(lang, a.reason))}` : ""}</span></td>
      </tr>`,
    )
    .join("");
  root.innerHTML = `
    <header>
      <h1 data-testid="title">Hokan · ${esc(t(lang, "title"))}</h1>
      <button class="link" data-testid="language">${esc(t(lang, "language"))}</button>
    </header>
    <section>
      <h2>${esc(t(lang, "account"))}</h2>
      <label><select data-testid="account">${["alice", "bob"].map((a) => `<option ${a === hub.account ? "selected" : ""}>${a}</option>`).join("")}</select>
      <span class="muted">${esc(deviceId)}</span></label>
    </section>
    <section>
      <h2>${esc(t(lang, "settings"))}</h2>
      <label><input type="checkbox" data-testid="backup-enabled" ${s.backupEnabled ? "checked" : ""}/> ${esc(t(lang, "backupEnabled"))}</label>
      <label><input type="checkbox" data-testid="overseas-enabled" ${s.overseasEnabled ? "checked" : ""}/> ${esc(t(lang, "overseasEnabled"))}</label>
      <div class="muted">${esc(t(lang, "network"))}</div>
      <label><input type="checkbox" data-testid="online" ${simulated.offline ? "" : "checked"}/> ${esc(t(lang, "online"))}</label>
      <label><input type="checkbox" data-testid="roaming" ${simulated.roaming ? "checked" : ""}/> ${esc(t(lang, "roaming"))}</label>
      ${simulated.roaming ? `<div class="roaming" data-testid="roaming-now">✈ ${esc(t(lang, "roamingNow"))}</div>` : ""}
    </section>
    <section>
      <h2>${esc(t(lang, "apps"))}</h2>
      ${list.length ? `<table><thead><tr><th>${esc(t(lang, "app"))}</th><th>${esc(t(lang, "lastBackup"))}</th><th>${esc(t(lang, "documents"))}</th><th>${esc(t(lang, "status"))}</th></tr></thead><tbody>${rows}</tbody></table>` : `<p>${esc(t(lang, "none"))}</p>`}
      <div class="actions">
        <button data-testid="bulk-backup">${esc(t(lang, "bulkBackup"))}</button>
        <button class="danger" data-testid="bulk-delete">${esc(t(lang, "bulkDelete"))}</button>
      </div>
      <div class="message" data-testid="message">${esc(message)}</div>
    </section>`;
  const on = (id: string, fn: (e: Event) => void, event = "change") =>
    root.querySelector(`[data-testid="${id}"]`)?.addEventListener(event, fn);
  on(
    "language",
    () => {
      lang = lang === "ja" ? "en" : "ja";
      localStorage.setItem("hokan-lang", lang);
      render();
      remountSamples();
    },
    "click",
  );
  on("backup-enabled", (e) => void hub.setBackupEnabled((e.target as HTMLInputElement).checked));
  on("overseas-enabled", (e) => void hub.setOverseasEnabled((e.target as HTMLInputElement).checked));
  on("online", (e) => {
    simulated.offline = !(e.target as HTMLInputElement).checked;
    updateNetwork();
    render();
  });
  on("roaming", (e) => {
    simulated.roaming = (e.target as HTMLInputElement).checked;
    updateNetwork();
    render();
  });
  on("account", (e) => {
    void hub.setAccount((e.target as HTMLSelectElement).value).then(async () => {
      for (const app of SAMPLE_APPS) replications.set(app.appId, hub.app(app.appId));
      render();
      remountSamples();
    });
  });
  on(
    "bulk-backup",
    () => {
      void hub.bulkBackup().then((results) => {
        message = results
          .map((r) => {
            if (r.outcome === "backed-up") return `${r.appId}: ${t(lang, "backedUp")}`;
            if (r.outcome === "held") return `${r.appId}: ${t(lang, r.reason)}`;
            return `${r.appId}: ${t(lang, "notBackedUp")} (${t(lang, errorWord(r.error.code))})`;
          })
          .join(" · ");
        render();
      });
    },
    "click",
  );
  on(
    "bulk-delete",
    () => {
      if (!confirm(t(lang, "confirmDelete"))) return;
      void hub.bulkDelete().then(
        (result) => {
          message = result.skipped?.length
            ? `${t(lang, "deleted")} · ${result.skipped.map((s) => `${s.appId}: ${t(lang, s.code)}`).join(" · ")}`
            : t(lang, "deleted");
          render();
        },
        (error: { code?: string }) => {
          message = `${t(lang, "notDeleted")} (${t(lang, errorWord(error.code ?? "server"))})`;
          render();
        },
      );
    },
    "click",
  );
}

/** The word for an error code (`network` is a heading's word on this page). */
function errorWord(code: string): string {
  return code === "network" ? "unreachable" : code;
}

let unmountSamples: (() => void) | undefined;
function remountSamples(): void {
  unmountSamples?.();
  samplesHost.innerHTML = `<h2>${esc(t(lang, "samples"))}</h2>`;
  unmountSamples = mountSamples(samplesHost, replications, lang);
}

hub.apps$.subscribe((next) => {
  list = next;
  render();
});
hub.settings$.subscribe(() => render());
render();
remountSamples();
(window as unknown as { hokanReady: boolean }).hokanReady = true;
