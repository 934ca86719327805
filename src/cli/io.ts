/** What the CLI talks to: injected, so that tests run commands in process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads all of standard input (secrets for `credentials add`, tokens for `confirm`). */
  stdin?: () => Promise<string>;
  /** The folder relative paths and the workspace search start from; default `process.cwd()`. */
  cwd?: string;
  /** Whether stdout is a terminal (colour); default false. */
  isTty?: boolean;
  env: NodeJS.ProcessEnv;
}
