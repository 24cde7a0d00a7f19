/** The settings screen's words, in Japanese and English. */
export type Lang = "ja" | "en";

const WORDS = {
  title: { ja: "アプリデータお預かり", en: "App data backup" },
  loading: { ja: "読み込み中…", en: "Loading…" },
  language: { ja: "English", en: "日本語" },
  account: { ja: "アカウント", en: "Account" },
  deviceId: { ja: "この端末の ID", en: "This device's ID" },
  settings: { ja: "設定", en: "Settings" },
  backupEnabled: { ja: "利用設定(バックアップする)", en: "Back up app data on this device" },
  overseasEnabled: {
    ja: "海外利用設定(海外でもバックアップ・復元する)",
    en: "Also back up and restore abroad",
  },
  network: { ja: "ネットワーク(シミュレーション)", en: "Network (simulated)" },
  online: { ja: "オンライン", en: "Online" },
  roaming: { ja: "海外ローミング中", en: "Roaming abroad" },
  roamingNow: {
    ja: "現在、海外ローミング中です。海外利用設定がオフのため、バックアップと復元を止めています。",
    en: "You are roaming abroad. Backup and restore wait, because overseas use is off.",
  },
  offlineNow: {
    ja: "オフラインです。接続すると、待っている変更をバックアップします。",
    en: "You are offline. Changes waiting here are backed up once you are connected.",
  },
  entitled: { ja: "バックアップを含む契約(シミュレーション)", en: "Plan includes backup (simulated)" },
  notEntitledNow: {
    ja: "ご契約にバックアップが含まれていないため、お預かりを止めています。ご契約内容をご確認ください。",
    en: "Your plan does not include backup, so nothing is backed up. Check your plan.",
  },
  noAccountOption: { ja: "未設定", en: "None" },
  noAccount: {
    ja: "アカウントが設定されていません。アカウントを選ぶと、この端末のアプリのデータをお預かりします。",
    en: "No account is set. Choose one, and the apps' data on this device is backed up under it.",
  },
  roamingAllowed: {
    ja: "現在、海外ローミング中です。海外利用設定がオンのため、バックアップと復元を続けます。",
    en: "You are roaming abroad. Backup and restore go on, because overseas use is on.",
  },
  apps: { ja: "お預かりしているアプリ", en: "Backed-up apps" },
  app: { ja: "アプリ", en: "App" },
  lastBackup: { ja: "最終バックアップ", en: "Last backup" },
  documents: { ja: "件数", en: "Items" },
  status: { ja: "状態", en: "Status" },
  none: { ja: "お預かりしているデータはありません", en: "Nothing is backed up" },
  unnamedApp: { ja: "名前のないアプリ", en: "An unnamed app" },
  notYet: { ja: "まだありません", en: "Not yet" },
  updateApp: { ja: "アップデートする", en: "Update the app" },
  justNow: { ja: "たった今", en: "Just now" },
  bulkBackup: { ja: "今すぐすべてバックアップ", en: "Back up all now" },
  bulkBackupRunning: { ja: "バックアップ中", en: "Backing up" },
  bulkBackupDone: { ja: "アプリをバックアップしました", en: "apps backed up" },
  of: { ja: "/", en: "of" },
  dangerZone: { ja: "お預かりデータの削除", en: "Delete backups" },
  dangerNote: {
    ja: "サーバーにお預かりしているデータを削除します。この端末のアプリのデータは残ります。",
    en: "This deletes the backups kept on the server. The apps' data on this device stays.",
  },
  bulkDelete: { ja: "お預かりデータをすべて削除", en: "Delete all backups" },
  confirmTitle: { ja: "お預かりデータをすべて削除しますか?", en: "Delete all backups?" },
  confirmBody: {
    ja: "次のアプリのお預かりデータを削除します。元に戻すことはできません。",
    en: "The backups of these apps will be deleted. This cannot be undone.",
  },
  confirmNone: {
    ja: "お預かりしているデータはありません。削除しても何も変わりません。",
    en: "Nothing is backed up: deleting changes nothing.",
  },
  confirmDelete: { ja: "削除する", en: "Delete" },
  cancel: { ja: "キャンセル", en: "Cancel" },
  deleting: { ja: "削除中…", en: "Deleting…" },
  deleted: { ja: "お預かりデータを削除しました", en: "The backups were deleted" },
  skipped: { ja: "削除できないアプリ", en: "Not deleted" },
  backedUp: { ja: "バックアップしました", en: "Backed up" },
  notBackedUp: { ja: "バックアップできませんでした", en: "Not backed up" },
  waiting: { ja: "待機中", en: "Waiting" },
  notDeleted: { ja: "削除できませんでした", en: "Nothing was deleted" },
  samples: { ja: "サンプルアプリ", en: "Sample apps" },
  theme: { ja: "テーマ", en: "Theme" },
  light: { ja: "ライト", en: "Light" },
  dark: { ja: "ダーク", en: "Dark" },
  tos: { ja: "利用規約(第3版)に同意する", en: "I accept the terms of use (version 3)" },
  notes: { ja: "メモ", en: "Notes" },
} as const;

export type Word = keyof typeof WORDS;

/** The word in the language. */
export function t(lang: Lang, word: Word): string {
  return WORDS[word][lang];
}

/** What a user reads for a state, a reason or an error code: what happened, and what to do about it. */
const PHRASES: Record<string, { ja: string; en: string }> = {
  // An app's state in the list.
  "up-to-date": { ja: "最新", en: "Up to date" },
  "never-backed-up": { ja: "まだバックアップしていません", en: "Not backed up yet" },
  pending: { ja: "未送信の変更があります", en: "Changes waiting" },
  syncing: { ja: "同期中", en: "Syncing" },
  retrying: { ja: "再試行中", en: "Trying again" },
  held: { ja: "待機中", en: "Waiting" },
  failed: { ja: "停止中", en: "Stopped" },
  "not-on-device": { ja: "この端末にはありません", en: "Not on this device" },
  // Why backup waits or is refused.
  offline: { ja: "オフラインです。接続すると再開します", en: "Offline: it resumes once connected" },
  roaming: {
    ja: "海外ローミング中のため止めています(海外利用設定がオフ)",
    en: "Paused while roaming abroad (overseas use is off)",
  },
  disabled: { ja: "利用設定がオフです", en: "Backup is off on this device" },
  "no-account": { ja: "アカウントが設定されていません", en: "No account is set on this device" },
  "not-entitled": {
    ja: "ご契約にバックアップが含まれていません",
    en: "Your plan does not include backup",
  },
  unsupported: { ja: "このアプリはバックアップに対応していません", en: "This app cannot be backed up" },
  capability: { ja: "この端末ではこの操作に対応していません", en: "Not available on this device" },
  retired: { ja: "このアプリのバックアップは終了しました", en: "Backups for this app have ended" },
  "upgrade-required": {
    ja: "アプリを最新版にアップデートしてください",
    en: "Update the app to its latest version",
  },
  quota: {
    ja: "お預かりできる容量を超えています。不要なデータを削除してください",
    en: "The backup is full: delete data you no longer need",
  },
  // What went wrong.
  network: {
    ja: "サーバーに接続できません。電波の良い場所で、しばらくしてからお試しください",
    en: "The server cannot be reached. Try again later, with a better connection",
  },
  timeout: {
    ja: "サーバーから応答がありません。しばらくしてからお試しください",
    en: "The server did not answer. Try again later",
  },
  server: {
    ja: "サーバーで問題が起きています。しばらくしてからお試しください",
    en: "The server has a problem. Try again later",
  },
  "rate-limited": {
    ja: "混み合っています。しばらくしてからお試しください",
    en: "Too busy right now. Try again in a while",
  },
  unauthorized: { ja: "サインインし直してください", en: "Sign in again" },
  forbidden: { ja: "このアカウントでは操作できません", en: "This account cannot do this" },
  "payload-too-large": {
    ja: "データが大きすぎるためお預かりできません",
    en: "The data is too large to back up",
  },
  storage: {
    ja: "端末の保存領域に問題があります。空き容量を確認してください",
    en: "This device's storage has a problem: check its free space",
  },
};

/** The words for a state, reason or error code; an unknown one gets a plain sentence, never the code itself. */
export function phrase(lang: Lang, code: string | undefined): string {
  const known = code === undefined ? undefined : PHRASES[code];
  if (known) return known[lang];
  return lang === "ja"
    ? "問題が起きました。しばらくしてからお試しください"
    : "Something went wrong. Try again later";
}

const locale = (lang: Lang) =>
  lang === "ja" ? "ja-JP" : navigator.language.startsWith("en") ? navigator.language : "en";

/**
 * A moment in the user's locale: relative while it is recent (「5 分前」, "5 minutes ago"), a date and time after that.
 */
export function when(lang: Lang, ms: number, now = Date.now()): string {
  const seconds = Math.round((now - ms) / 1000);
  if (seconds < 45) return t(lang, "justNow");
  const relative = new Intl.RelativeTimeFormat(locale(lang), { numeric: "auto" });
  if (seconds < 3600) return relative.format(-Math.round(seconds / 60), "minute");
  if (seconds < 6 * 3600) return relative.format(-Math.round(seconds / 3600), "hour");
  return new Intl.DateTimeFormat(locale(lang), { dateStyle: "medium", timeStyle: "short" }).format(ms);
}

/** The full date and time (a cell's title). */
export function dateTime(lang: Lang, ms: number): string {
  return new Intl.DateTimeFormat(locale(lang), { dateStyle: "full", timeStyle: "medium" }).format(ms);
}

/** A notice of the registry about an app, with its date in the user's locale and how far off it is. */
export function noticeText(
  lang: Lang,
  notice: { kind: "backups-end" | "restore-until" | "update-by"; at?: number; minVersion?: string },
  now = Date.now(),
): string {
  const date = (ms: number) => {
    const days = Math.round((ms - now) / 86_400_000);
    const absolute = new Intl.DateTimeFormat(locale(lang), { dateStyle: "long" }).format(ms);
    const relative = new Intl.RelativeTimeFormat(locale(lang), { numeric: "auto" }).format(days, "day");
    return lang === "ja" ? `${absolute}\uFF08${relative}\uFF09` : `${absolute} (${relative})`;
  };
  const past = notice.at !== undefined && notice.at <= now;
  switch (notice.kind) {
    case "backups-end":
      return lang === "ja"
        ? `バックアップは${date(notice.at as number)}${past ? "に終了しました" : "に終了します"}`
        : `Backups ${past ? "ended" : "end"} on ${date(notice.at as number)}`;
    case "restore-until":
      return lang === "ja"
        ? `復元は${date(notice.at as number)}${past ? "で終了しました" : "まで可能です"}`
        : past
          ? `Restore ended on ${date(notice.at as number)}`
          : `Restore possible until ${date(notice.at as number)}`;
    case "update-by":
      if (notice.at === undefined || past)
        return lang === "ja"
          ? `バージョン ${notice.minVersion} 以降にアップデートしてください`
          : `Update to version ${notice.minVersion} or later`;
      return lang === "ja"
        ? `${date(notice.at)}までにバージョン ${notice.minVersion} 以降にアップデートしてください`
        : `Update to version ${notice.minVersion} or later by ${date(notice.at)}`;
  }
}

/** A number of documents: 「500 件」, "500 items". */
export function itemCount(lang: Lang, n: number): string {
  const number = new Intl.NumberFormat(locale(lang)).format(n);
  return lang === "ja" ? `${number} 件` : `${number} ${n === 1 ? "item" : "items"}`;
}

/** Escapes text for HTML. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
