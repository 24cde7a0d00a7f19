/** The settings screen's words, in Japanese and English. */
export type Lang = "ja" | "en";

const WORDS = {
  title: { ja: "アプリデータお預かり", en: "App data backup" },
  language: { ja: "English", en: "日本語" },
  account: { ja: "アカウント", en: "Account" },
  settings: { ja: "設定", en: "Settings" },
  backupEnabled: { ja: "利用設定(バックアップする)", en: "Back up app data on this device" },
  overseasEnabled: {
    ja: "海外利用設定(海外でもバックアップ・復元する)",
    en: "Also back up and restore abroad",
  },
  network: { ja: "ネットワーク(シミュレーション)", en: "Network (simulated)" },
  online: { ja: "オンライン", en: "Online" },
  roaming: { ja: "海外ローミング中", en: "Roaming abroad" },
  roamingNow: { ja: "現在、海外ローミング中です", en: "Roaming abroad now" },
  apps: { ja: "お預かりしているアプリ", en: "Backed-up apps" },
  app: { ja: "アプリ", en: "App" },
  lastBackup: { ja: "最終バックアップ", en: "Last backup" },
  documents: { ja: "件数", en: "Items" },
  status: { ja: "状態", en: "Status" },
  none: { ja: "お預かりしているデータはありません", en: "Nothing is backed up" },
  bulkBackup: { ja: "今すぐすべてバックアップ", en: "Back up all now" },
  bulkDelete: { ja: "お預かりデータをすべて削除", en: "Delete all backups" },
  confirmDelete: {
    ja: "すべてのアプリのお預かりデータを削除します。よろしいですか?",
    en: "Delete the backups of every app? This cannot be undone.",
  },
  deleted: { ja: "削除しました", en: "Deleted" },
  backedUp: { ja: "バックアップしました", en: "Backed up" },
  notBackedUp: { ja: "バックアップできませんでした", en: "Not backed up" },
  notDeleted: { ja: "削除できませんでした", en: "Not deleted" },
  unreachable: { ja: "サーバーに接続できません", en: "server unreachable" },
  timeout: { ja: "応答がありません", en: "no answer" },
  samples: { ja: "サンプルアプリ", en: "Sample apps" },
  theme: { ja: "テーマ", en: "Theme" },
  light: { ja: "ライト", en: "Light" },
  dark: { ja: "ダーク", en: "Dark" },
  tos: { ja: "利用規約(第3版)に同意する", en: "I accept the terms of use (version 3)" },
  notes: { ja: "メモ", en: "Notes" },
  never: { ja: "—", en: "—" },
  "up-to-date": { ja: "最新", en: "Up to date" },
  pending: { ja: "未送信あり", en: "Pending" },
  syncing: { ja: "同期中", en: "Syncing" },
  held: { ja: "保留中", en: "Held" },
  retired: { ja: "サービス終了", en: "Retired" },
  "upgrade-required": { ja: "アップデートが必要", en: "Update required" },
  capability: { ja: "この端末では非対応", en: "Not on this platform" },
  "not-on-device": { ja: "この端末にはありません", en: "Not on this device" },
  offline: { ja: "オフライン", en: "offline" },
  disabled: { ja: "利用設定オフ", en: "backup off" },
  "no-account": { ja: "アカウント未設定", en: "no account" },
  quota: { ja: "容量超過", en: "quota full" },
} as const;

export type Word = keyof typeof WORDS;

/** The word in the language; a reason code without a translation is shown as it is. */
export function t(lang: Lang, word: Word | string): string {
  const entry = (WORDS as Record<string, Record<Lang, string>>)[word];
  return entry ? entry[lang] : word;
}

/** Escapes text for HTML. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
