import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A child process a test started, with its output kept for error messages. `stop()` sends SIGTERM, then
 * SIGKILL after a grace period; `kill9()` is the crash a durability test wants.
 */
export class ManagedProcess {
  private out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    private readonly group = false,
  ) {
    child.stdout?.on('data', (d: Buffer) => this.append(d));
    child.stderr?.on('data', (d: Buffer) => this.append(d));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  private append(d: Buffer): void {
    this.out += d.toString('utf8');
    if (this.out.length > 200_000) this.out = this.out.slice(-100_000);
  }

  get output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Sends a signal to the child, or to its whole process group when it was started `detached` (so that a
   * wrapper such as `npm start` and the program it runs get it together, as under a terminal or systemd).
   */
  signal(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      if (this.group) process.kill(-pid, sig);
      else this.child.kill(sig);
    } catch {
      // already gone
    }
  }

  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) {
      if (this.group) this.signal('SIGKILL'); // leftovers of the group
      return;
    }
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Resolves when the output matches `pattern`; rejects with the output so far if the process exits or time runs out. */
  async waitForOutput(pattern: RegExp, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.out)) {
      if (!this.running)
        throw new Error(`${this.name} exited before printing ${String(pattern)}:\n${this.out.slice(-4000)}`);
      if (Date.now() > deadline)
        throw new Error(
          `${this.name} did not print ${String(pattern)} within ${timeoutMs} ms:\n${this.out.slice(-4000)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions = {},
): ManagedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  return new ManagedProcess(name, child, options.detached === true);
}

/**
 * The path of a server binary, or an error that says how to install it. Tests that need a server fail
 * with this message; they never skip silently.
 */
export function requireBinary(name: string, candidates: string[], debianPackage: string): string {
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(
    `${name} is not installed (looked in ${candidates.join(', ')}). Install the Debian package '${debianPackage}' ` +
      `(bash scripts/install-test-deps.sh does it) and run the tests again.`,
  );
}
