/** Where an adapter came from: a folder under adapters/, an explicit path, or an installed npm package. */
export interface AdapterSource {
  kind: 'folder' | 'path' | 'package';
  /** Folder or file path for `folder`/`path`; the package name for `package`. */
  location: string;
  /** The installed package's version, when the source is a package and it was found. */
  packageVersion?: string;
}

export function describeSource(source: AdapterSource): string {
  switch (source.kind) {
    case 'folder':
      return `folder ${source.location}`;
    case 'path':
      return `path ${source.location}`;
    case 'package':
      return source.packageVersion
        ? `package ${source.location}@${source.packageVersion}`
        : `package ${source.location}`;
  }
}

/** One adapter named in config that could not be loaded. The message names the adapter and its source. */
export class AdapterLoadError extends Error {
  constructor(
    readonly adapterId: string,
    readonly source: AdapterSource,
    /** The reason alone, without the adapter's name (for API output and tests). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`adapter "${adapterId}" (${describeSource(source)}) ${reason}`, options);
    this.name = 'AdapterLoadError';
  }
}

/**
 * Thrown by `loadAdapters` when any adapter failed: the gateway refuses to boot, and the message lists
 * every failure at once so the operator can fix them in one go.
 */
export class AdapterBootError extends Error {
  constructor(readonly failures: readonly AdapterLoadError[]) {
    super(
      `refusing to start: ${failures.length} adapter${failures.length === 1 ? '' : 's'} could not be loaded:\n` +
        failures.map((f) => `  - ${f.message}`).join('\n'),
    );
    this.name = 'AdapterBootError';
  }
}

export class UnknownAdapterError extends Error {
  constructor(
    readonly adapterId: string,
    known: readonly string[],
  ) {
    super(`unknown adapter "${adapterId}" (loaded: ${known.length > 0 ? known.join(', ') : 'none'})`);
    this.name = 'UnknownAdapterError';
  }
}

/** The message of anything thrown. Duck-typed: errors from another realm (a vm context, Jest's sandbox) fail `instanceof Error`. */
export function errorMessage(e: unknown): string {
  if (typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string')
    return (e as { message: string }).message;
  return String(e);
}

/** `250 ms`, `30 s`, `5 min`: durations in messages for people. */
export function describeDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000 || ms % 60_000 !== 0) return `${Math.round(ms / 100) / 10} s`;
  return `${ms / 60_000} min`;
}
