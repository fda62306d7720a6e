import { type AdapterCapabilities, type ValidationIssue, validateWith } from '../sdk';
import type { LoadedAdapter } from './adapter-loader';
import { type AdapterSource, errorMessage, UnknownAdapterError } from './registry-errors';
import {
  maskSecretOptions,
  mergeSecretOptions,
  type OptionsObject,
  splitSecretOptions,
} from './secret-options';

/** One row of GET /api/v1/adapters. */
export interface AdapterListing {
  id: string;
  displayName: string;
  version: string;
  sdk: string;
  capabilities: AdapterCapabilities;
  source: AdapterSource;
}

export type OptionsValidation = { ok: true; value: unknown } | { ok: false; issues: ValidationIssue[] };

/** The adapters this process loaded at boot, and what the rest of the gateway asks of them. */
export class AdapterRegistry {
  private readonly byId = new Map<string, LoadedAdapter>();

  constructor(adapters: readonly LoadedAdapter[]) {
    for (const a of adapters) {
      if (this.byId.has(a.manifest.id)) throw new Error(`adapter "${a.manifest.id}" is registered twice`);
      this.byId.set(a.manifest.id, a);
    }
  }

  ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): LoadedAdapter | undefined {
    return this.byId.get(id);
  }

  /** Like `get`, for callers that already validated the id: unknown ids throw `UnknownAdapterError`. */
  require(id: string): LoadedAdapter {
    const a = this.byId.get(id);
    if (!a) throw new UnknownAdapterError(id, this.ids());
    return a;
  }

  list(): AdapterListing[] {
    return this.ids().map((id) => {
      const { manifest, source } = this.require(id);
      return {
        id: manifest.id,
        displayName: manifest.displayName,
        version: manifest.version,
        sdk: manifest.sdk,
        capabilities: structuredClone(manifest.capabilities),
        source: { ...source },
      };
    });
  }

  /**
   * Checks an account's options against the adapter's schema. `value` is what the schema returned
   * (defaults applied); pass that, not the raw input, to the client. Never throws.
   */
  async validateAccountOptions(adapterId: string, options: unknown): Promise<OptionsValidation> {
    const a = this.byId.get(adapterId);
    if (!a)
      return {
        ok: false,
        issues: [{ path: 'adapter', message: new UnknownAdapterError(adapterId, this.ids()).message }],
      };
    try {
      return await validateWith(a.manifest.optionsSchema, options);
    } catch (e) {
      // A schema that throws is an adapter bug; the caller still gets an answer it can show.
      const why = errorMessage(e);
      return {
        ok: false,
        issues: [{ path: '(root)', message: `the ${adapterId} adapter's options schema failed: ${why}` }],
      };
    }
  }

  /**
   * The network login validated options use (the adapter's `loginKey`), or null when the adapter does
   * not say or its `loginKey` breaks its promise not to throw (then nothing is refused, as before SDK 1.3).
   */
  loginKeyOf(adapterId: string, options: unknown): string | null {
    const { manifest } = this.require(adapterId);
    if (!manifest.loginKey) return null;
    try {
      const k: unknown = manifest.loginKey(options);
      return typeof k === 'string' && k !== '' ? k : null;
    } catch {
      return null;
    }
  }

  secretPaths(adapterId: string): readonly string[] {
    return this.require(adapterId).manifest.secretOptions ?? [];
  }

  /** Splits options into what may be stored and shown, and the secrets to store encrypted. */
  splitSecrets(adapterId: string, options: unknown): { public: OptionsObject; secrets: OptionsObject } {
    return splitSecretOptions(options, this.secretPaths(adapterId));
  }

  /** Puts decrypted secrets back into the public options (the inverse of `splitSecrets`). */
  mergeSecrets(adapterId: string, publicPart: unknown, secrets: unknown): OptionsObject {
    this.require(adapterId);
    return mergeSecretOptions(publicPart, secrets);
  }

  /** A copy of the options with every secret masked, for logs and API output. */
  maskSecrets(adapterId: string, options: unknown): OptionsObject {
    return maskSecretOptions(options, this.secretPaths(adapterId));
  }

  /** Calls every adapter's `dispose` (at shutdown, after the clients are stopped); failures are logged by the caller. */
  async disposeAll(): Promise<{ adapterId: string; error: unknown }[]> {
    const failures: { adapterId: string; error: unknown }[] = [];
    for (const { manifest } of this.byId.values()) {
      try {
        await manifest.dispose?.();
      } catch (error) {
        failures.push({ adapterId: manifest.id, error });
      }
    }
    return failures;
  }
}
