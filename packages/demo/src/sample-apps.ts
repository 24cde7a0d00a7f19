import type { HubApp, Replication } from "@hokan/core";
import { applyYjsDocument, encodeYDoc, type YjsDocument, yjs } from "@hokan/core/yjs";
import type { Subscription } from "rxjs";
import * as Y from "yjs";
import { esc, type Lang, phrase, t } from "./i18n.js";

/** Sample apps: mail with settings and terms-of-use consent, notes that merge through Yjs, and a retired one. */
export const SAMPLE_APPS: readonly HubApp[] = [
  {
    appId: "jp.example.mail",
    appVersion: "3.0.0",
    name: "Mail",
    collections: { settings: "merge", consent: "lww" },
    restoreTimeoutMs: 5000,
  },
  {
    appId: "jp.example.notes",
    appVersion: "1.0.0",
    name: "Notes",
    collections: { notes: yjs },
    restoreTimeoutMs: 5000,
  },
  // Retired in the demo's registry: nothing is backed up any more, and the list says until when it can be restored.
  {
    appId: "jp.example.photos",
    appVersion: "2.4.0",
    name: "Photos",
    collections: { albums: "lww" },
    restoreTimeoutMs: 5000,
  },
];

/** Mounts the sample apps; returns what unmounts them (their subscriptions). */
export function mountSamples(
  host: HTMLElement,
  apps: ReadonlyMap<string, Replication>,
  lang: Lang,
): () => void {
  const subs: Subscription[] = [];
  const mail = apps.get("jp.example.mail") as Replication;
  const notes = apps.get("jp.example.notes") as Replication;
  const box = document.createElement("div");
  box.innerHTML = `
    <div class="sample" data-testid="mail-app">
      <strong>Mail</strong> <span class="muted" data-testid="mail-status"></span>
      <label>${esc(t(lang, "theme"))}
        <select data-testid="mail-theme" aria-label="Mail ${esc(t(lang, "theme"))}"><option value="light">${esc(t(lang, "light"))}</option><option value="dark">${esc(t(lang, "dark"))}</option></select></label>
      <label><input type="checkbox" data-testid="mail-tos"/> ${esc(t(lang, "tos"))}</label>
    </div>
    <div class="sample" data-testid="notes-app">
      <strong>${esc(t(lang, "notes"))}</strong> <span class="muted" data-testid="notes-status"></span>
      <textarea data-testid="notes-text" aria-label="${esc(t(lang, "notes"))}"></textarea>
    </div>`;
  host.append(box);
  const theme = box.querySelector<HTMLSelectElement>('[data-testid="mail-theme"]') as HTMLSelectElement;
  const tos = box.querySelector<HTMLInputElement>('[data-testid="mail-tos"]') as HTMLInputElement;
  const text = box.querySelector<HTMLTextAreaElement>('[data-testid="notes-text"]') as HTMLTextAreaElement;
  const status = (id: string, r: Replication) => {
    const el = box.querySelector(`[data-testid="${id}"]`) as HTMLElement;
    const show = () => {
      const s = r.status;
      // The engine's state stays in an attribute; the user reads words.
      el.dataset.state = s.state;
      const words =
        s.reason !== undefined
          ? phrase(lang, s.reason)
          : s.state === "backoff" && s.lastError
            ? phrase(lang, s.lastError.code)
            : s.state === "idle" && s.pending === 0
              ? phrase(lang, "up-to-date")
              : s.pending > 0
                ? phrase(lang, "pending")
                : phrase(lang, "syncing");
      el.textContent = words;
    };
    show();
    subs.push(r.status$.subscribe(show));
  };
  status("mail-status", mail);
  status("notes-status", notes);

  // Mail: first-launch defaults never overwrite a restored backup (putDefault waits for the restore).
  // The controls wait for the restore too: a choice made before it could be overwritten by the default.
  theme.disabled = true;
  tos.disabled = true;
  const loadMail = async () => {
    await mail.putDefault("settings", "display", { theme: "light" });
    theme.value = String((await mail.get("settings", "display"))?.theme ?? "light");
    tos.checked = (await mail.get("consent", "tos"))?.accepted === true;
    theme.disabled = false;
    tos.disabled = false;
  };
  void loadMail();
  theme.addEventListener("change", () => void mail.put("settings", "display", { theme: theme.value }));
  tos.addEventListener(
    "change",
    () => void mail.put("consent", "tos", { version: 3, accepted: tos.checked, at: Date.now() }),
  );
  subs.push(
    mail.changes$.subscribe((c) => {
      if (c.origin === "remote") void loadMail();
    }),
  );

  // Notes: a Yjs document, so concurrent edits on two devices merge.
  const doc = new Y.Doc();
  const ytext = doc.getText("body");
  const loadNotes = async () => {
    const stored = (await notes.get("notes", "main")) as YjsDocument | undefined;
    if (stored) applyYjsDocument(doc, stored);
    if (document.activeElement !== text) text.value = ytext.toString();
  };
  void loadNotes();
  text.addEventListener("input", () => {
    doc.transact(() => {
      ytext.delete(0, ytext.length);
      ytext.insert(0, text.value);
    });
    void notes.put("notes", "main", encodeYDoc(doc));
  });
  subs.push(
    notes.changes$.subscribe((c) => {
      if (c.origin === "remote") void loadNotes();
    }),
  );
  return () => {
    for (const s of subs) s.unsubscribe();
    doc.destroy();
  };
}
