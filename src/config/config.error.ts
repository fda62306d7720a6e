/** One thing wrong with the configuration. */
export interface ConfigProblem {
  /** The config file, as shown to the operator (relative to the working directory when inside it). */
  readonly file?: string;
  /** A dot path (`server.port`, `adapters[1].package`), or the environment variable's name. */
  readonly key?: string;
  /** 1-based position in the file (the message shows the line; the column is for editors and tools). */
  readonly line?: number;
  readonly column?: number;
  /** What is wrong, without the file and key (those are in `message`). Never contains a secret. */
  readonly problem: string;
}

/**
 * The configuration cannot be used. The message names the file, the key and what is wrong, one line per
 * problem; the CLI prints it and exits with code 2. The top-level fields describe the first problem.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file?: string;
  readonly key?: string;
  readonly line?: number;
  readonly column?: number;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const list = problems.length > 0 ? problems : [{ problem: 'invalid configuration' }];
    super(
      list.length === 1
        ? formatProblem(list[0]!)
        : `invalid configuration (${list.length} problems):\n${list.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    );
    const first = list[0]!;
    if (first.file !== undefined) this.file = first.file;
    if (first.key !== undefined) this.key = first.key;
    if (first.line !== undefined) this.line = first.line;
    if (first.column !== undefined) this.column = first.column;
    this.problems = list;
  }
}

/** `config/switchboard.yaml: server.port (line 3): expected an integer from 1 to 65535, got "abc"` */
export function formatProblem(p: ConfigProblem): string {
  const where: string[] = [];
  if (p.file !== undefined) where.push(`${p.file}:`);
  if (p.key !== undefined) where.push(p.key);
  if (p.line !== undefined) where.push(`(line ${p.line})`);
  return where.length > 0 ? `${where.join(' ').replace(/:$/, '')}: ${p.problem}` : p.problem;
}
