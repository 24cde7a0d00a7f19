// The host libraries docs/mobile.md calls (React Native, Expo, Capacitor, their SQLite drivers and background-task
// modules), declared as far as the guide uses them, after each library's published API: the consumer check compiles
// the guide against Hokan's installed packages with these in place of libraries it cannot install without a phone
// toolchain. The SQLite drivers' full declarations are checked against Hokan's adapters by scripts/driver-types.mjs.

/** The app's own: its sign-in, its version and its installation id. */
declare const auth: { readonly accountId: string; getToken(o: { refresh: boolean }): Promise<string> };
declare const appVersion: string;
declare const deviceId: string;

declare module "react-native" {
  export const NativeModules: Record<string, unknown>;
  export const Platform: { readonly OS: "ios" | "android" | "web" | "windows" | "macos" };
}

declare module "@react-native-community/netinfo" {
  export interface NetInfoState {
    readonly type: string;
    readonly isConnected: boolean | null;
    readonly isInternetReachable: boolean | null | undefined;
  }
  const NetInfo: { addEventListener(listener: (state: NetInfoState) => void): () => void };
  export default NetInfo;
}

declare module "@op-engineering/op-sqlite" {
  type Scalar = string | number | boolean | null | ArrayBuffer | ArrayBufferView;
  interface QueryResult {
    insertId?: number;
    rowsAffected: number;
    rows: Array<Record<string, Scalar>>;
  }
  interface Transaction {
    execute: (query: string, params?: Scalar[]) => Promise<QueryResult>;
    commit: () => QueryResult;
    rollback: () => QueryResult;
  }
  export interface DB {
    close: () => void;
    execute: (query: string, params?: Scalar[]) => Promise<QueryResult>;
    transaction: (fn: (tx: Transaction) => Promise<void>) => Promise<void>;
  }
  export function open(params: { name: string; location?: string; encryptionKey?: string }): DB;
}

declare module "react-native-background-fetch" {
  interface BackgroundFetchConfig {
    minimumFetchInterval?: number;
    stopOnTerminate?: boolean;
    startOnBoot?: boolean;
    enableHeadless?: boolean;
  }
  const BackgroundFetch: {
    configure(
      config: BackgroundFetchConfig,
      onEvent: (taskId: string) => Promise<void>,
      onTimeout?: (taskId: string) => Promise<void>,
    ): Promise<number>;
    finish(taskId?: string): void;
  };
  export default BackgroundFetch;
}

declare module "expo-sqlite" {
  type SQLiteBindValue = string | number | null | boolean | Uint8Array;
  export interface SQLiteDatabase {
    execAsync(source: string): Promise<void>;
    runAsync(
      source: string,
      params: SQLiteBindValue[],
    ): Promise<{ lastInsertRowId: number; changes: number }>;
    getAllAsync<T>(source: string, params: SQLiteBindValue[]): Promise<T[]>;
    closeAsync(): Promise<void>;
  }
  export function openDatabaseAsync(databaseName: string): Promise<SQLiteDatabase>;
}

declare module "expo-network" {
  export interface NetworkState {
    type?: string;
    isConnected?: boolean;
    isInternetReachable?: boolean;
  }
  export function addNetworkStateListener(listener: (state: NetworkState) => void): { remove(): void };
}

declare module "expo-task-manager" {
  export function defineTask<T = unknown>(
    taskName: string,
    task: (body: { data: T; error: unknown; executionInfo: unknown }) => Promise<unknown>,
  ): void;
}

declare module "expo-background-task" {
  export enum BackgroundTaskResult {
    Success = 1,
    Failed = 2,
  }
  export function registerTaskAsync(taskName: string, options?: { minimumInterval?: number }): Promise<void>;
}

declare module "@capacitor/core" {
  export const Capacitor: { getPlatform(): string };
  export function registerPlugin<T>(pluginName: string): T;
}

declare module "@capacitor/network" {
  export interface ConnectionStatus {
    connected: boolean;
    connectionType: "wifi" | "cellular" | "none" | "unknown";
  }
  export const Network: {
    getStatus(): Promise<ConnectionStatus>;
    addListener(
      eventName: "networkStatusChange",
      listenerFunc: (status: ConnectionStatus) => void,
    ): Promise<{ remove(): Promise<void> }>;
  };
}

declare module "@capacitor-community/sqlite" {
  export interface SQLiteDBConnection {
    open(): Promise<void>;
    close(): Promise<void>;
    query(statement: string, values?: unknown[], isSQL92?: boolean): Promise<{ values?: unknown[] }>;
    run(
      statement: string,
      values?: unknown[],
      transaction?: boolean,
      returnMode?: string,
      isSQL92?: boolean,
    ): Promise<{ changes?: { changes?: number; lastId?: number } }>;
    beginTransaction(): Promise<{ changes?: { changes?: number } }>;
    commitTransaction(): Promise<{ changes?: { changes?: number } }>;
    rollbackTransaction(): Promise<{ changes?: { changes?: number } }>;
  }
  export const CapacitorSQLite: unknown;
  export class SQLiteConnection {
    constructor(sqlite: unknown);
    createConnection(
      database: string,
      encrypted: boolean,
      mode: string,
      version: number,
      readonly: boolean,
    ): Promise<SQLiteDBConnection>;
  }
}

declare module "@transistorsoft/capacitor-background-fetch" {
  export const BackgroundFetch: {
    configure(
      config: { minimumFetchInterval?: number },
      onEvent: (taskId: string) => Promise<void>,
      onTimeout: (taskId: string) => Promise<void>,
    ): Promise<number>;
    finish(taskId: string): Promise<void>;
  };
}
