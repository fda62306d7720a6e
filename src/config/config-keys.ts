import { z } from 'zod';
import { configSchema, type Sensitivity } from './config.schema';

/**
 * The configuration keys as a flat list, read from the JSON schema zod generates (so it is exactly what
 * the committed config/switchboard.schema.json says). The loader uses it for environment overrides, the
 * unknown-key hints and secret masking; config-docs.ts renders the docs and the example file from it.
 */

/** The subset of JSON Schema (draft 7) that z.toJSONSchema emits for the config schema. */
export interface JsonSchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  format?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  additionalProperties?: boolean | JsonSchemaNode;
  'x-env'?: string;
  'x-sensitive'?: Sensitivity;
  'x-default'?: string;
}

export type KeyKind =
  'section' | 'list' | 'mapping' | 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'mixed';

export interface ConfigKeyDoc {
  /** `server.port`; list items appear as `adapters[].id`. */
  readonly path: string;
  /** The path's parts; list items are the part `[]`. */
  readonly segments: readonly string[];
  readonly description: string;
  readonly kind: KeyKind;
  /** The type in words for the docs (`integer from 1 to 65535`). */
  readonly type: string;
  readonly required: boolean;
  readonly hasDefault: boolean;
  readonly default?: unknown;
  /** The default in words, where it is computed at load time. */
  readonly defaultText?: string;
  readonly env?: string;
  readonly sensitive?: Sensitivity;
  readonly example?: unknown;
  /** Keys allowed directly under this one (a section, or the items of a list of mappings). */
  readonly children: readonly string[];
}

let jsonSchemaMemo: JsonSchemaNode | undefined;
let keysMemo: readonly ConfigKeyDoc[] | undefined;

/** The JSON schema of the config file (draft 7, which editors' YAML support understands best). */
export function configJsonSchema(): JsonSchemaNode {
  // The generated object is exactly the subset described by JsonSchemaNode.
  jsonSchemaMemo ??= z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-7',
    unrepresentable: 'any',
  }) as JsonSchemaNode;
  return jsonSchemaMemo;
}

export function configKeys(): readonly ConfigKeyDoc[] {
  keysMemo ??= collect(configJsonSchema(), []);
  return keysMemo;
}

/** The keys allowed under a schema path (`''` for the top level, `adapters[]` for an adapter entry). */
export function allowedKeysAt(schemaPath: string): readonly string[] {
  if (schemaPath === '') return Object.keys(configJsonSchema().properties ?? {});
  // An entry of a list has the keys the list documents as its children.
  const owner = schemaPath.endsWith('[]') ? schemaPath.slice(0, -2) : schemaPath;
  return configKeys().find((k) => k.path === owner)?.children ?? [];
}

export function keyAt(schemaPath: string): ConfigKeyDoc | undefined {
  return configKeys().find((k) => k.path === schemaPath);
}

/** `['adapters', 1, 'id']` → `adapters[].id` (the form ConfigKeyDoc.path uses). */
export function schemaPathOf(path: readonly PropertyKey[]): string {
  return joinSegments(path.map((p) => (typeof p === 'number' ? '[]' : String(p))));
}

function joinSegments(segments: readonly string[]): string {
  return segments.reduce((acc, s) => (s === '[]' ? `${acc}[]` : acc === '' ? s : `${acc}.${s}`), '');
}

function collect(node: JsonSchemaNode, prefix: readonly string[]): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = [];
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const segments = [...prefix, name];
    const object = objectOf(child);
    out.push({
      path: joinSegments(segments),
      segments,
      description: child.description ?? '',
      kind: kindOf(child),
      type: typeText(child),
      required: required.has(name),
      hasDefault: 'default' in child,
      ...('default' in child && { default: child.default }),
      ...(child['x-default'] !== undefined && { defaultText: child['x-default'] }),
      ...(child['x-env'] !== undefined && { env: child['x-env'] }),
      ...(child['x-sensitive'] !== undefined && { sensitive: child['x-sensitive'] }),
      ...(child.examples?.[0] !== undefined && { example: child.examples[0] }),
      children: Object.keys(object?.properties ?? {}),
    });
    if (object !== undefined)
      out.push(...collect(object, child.type === 'array' ? [...segments, '[]'] : segments));
  }
  return out;
}

/** The object schema with named properties under a key: the key itself, or the items of its list. */
function objectOf(node: JsonSchemaNode): JsonSchemaNode | undefined {
  if (node.type === 'object' && node.properties !== undefined) return node;
  if (node.type === 'array' && node.items?.type === 'object' && node.items.properties !== undefined)
    return node.items;
  return undefined;
}

function kindOf(node: JsonSchemaNode): KeyKind {
  if (node.enum !== undefined) return 'enum';
  switch (node.type) {
    case 'object':
      return node.properties !== undefined ? 'section' : 'mapping';
    case 'array':
      return 'list';
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return node.type;
    case undefined:
    default:
      return 'mixed';
  }
}

function typeText(node: JsonSchemaNode): string {
  if (node.enum !== undefined) return `one of ${node.enum.map(String).join(', ')}`;
  if (node.anyOf !== undefined) return node.anyOf.map(typeText).join(' or ');
  switch (node.type) {
    case 'integer':
    case 'number': {
      // zod writes the safe-integer bounds for a bare int(); they say nothing to a reader.
      const min =
        node.minimum !== undefined && node.minimum > Number.MIN_SAFE_INTEGER ? node.minimum : undefined;
      const max =
        node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
      if (min !== undefined && max !== undefined) return `${node.type} ${min}–${max}`;
      if (min !== undefined) return `${node.type} ≥ ${min}`;
      if (max !== undefined) return `${node.type} ≤ ${max}`;
      return node.type;
    }
    case 'object':
      return node.properties !== undefined ? 'section' : 'mapping';
    case 'array':
      if (node.items?.type === 'object') return 'list of mappings';
      return node.items !== undefined ? `list of ${typeText(node.items)}s` : 'list';
    case 'string':
      return node.format === 'uri' ? 'URL' : 'string';
    case undefined:
    default:
      return node.type ?? 'any';
  }
}
