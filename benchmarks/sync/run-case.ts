/** Runs one case of `sync/case.ts` in a process of its own, as `sync.ts` and `shapes.ts` do. */
import { spawnSync } from "node:child_process";

/** A case's `RESULT` line, parsed. */
export type CaseResult = { readonly seconds: number[] } & Record<string, unknown>;

export interface CaseRun {
  /** Absent when the case failed or timed out. */
  readonly result?: CaseResult;
  readonly timedOut: boolean;
  /** The last lines of its error output, when it printed no result. */
  readonly error?: string;
}

export function runCase(options: {
  readonly system: string;
  readonly scenario: string;
  readonly n: number;
  readonly runs: number;
  readonly timeoutS: number;
  readonly env?: Readonly<Record<string, string>>;
}): CaseRun {
  const child = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--conditions=hokan-source",
      "sync/case.ts",
      `--system=${options.system}`,
      `--scenario=${options.scenario}`,
      `--n=${options.n}`,
      `--runs=${options.runs}`,
    ],
    {
      cwd: new URL("..", import.meta.url).pathname,
      encoding: "utf8",
      timeout: options.timeoutS * 1000,
      killSignal: "SIGKILL",
      maxBuffer: 64 * 2 ** 20,
      env: { ...process.env, ...options.env },
    },
  );
  const line = child.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  const timedOut = child.error !== undefined && (child.error as NodeJS.ErrnoException).code === "ETIMEDOUT";
  if (line) return { result: JSON.parse(line.slice(7)) as CaseResult, timedOut };
  const error = child.stderr.trim().split("\n").slice(-6).join("\n") || `exit ${child.status}`;
  return { timedOut, error };
}
