import { stringify } from 'yaml';
import { configJsonSchema, configKeys, type ConfigKeyDoc } from './config-keys';

/**
 * Renders the generated configuration artifacts from the schema's annotations: the JSON schema, the key
 * table of docs/configuration.md and config/switchboard.example.yaml. scripts/gen-config-schema.js
 * writes them; test/config/config-artifacts.test.ts fails when a committed copy is stale.
 */

export const SCHEMA_FILE = 'config/switchboard.schema.json';
export const EXAMPLE_FILE = 'config/switchboard.example.yaml';
export const DOCS_FILE = 'docs/configuration.md';
export const TABLE_BEGIN = '<!-- BEGIN GENERATED: config keys (scripts/gen-config-schema.js) -->';
export const TABLE_END = '<!-- END GENERATED: config keys -->';
const REGENERATE = 'node scripts/gen-config-schema.js';

export function renderJsonSchema(): string {
  const { $schema, ...rest } = configJsonSchema() as Record<string, unknown>;
  const schema = { $schema, title: 'Switchboard configuration (config/switchboard.yaml)', ...rest };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------------
// docs/configuration.md

export function renderKeyTable(): string {
  const rows = configKeys().map((k) => {
    const description = k.sensitive !== undefined ? `${k.description} **${secretNote(k)}**` : k.description;
    const defaults = defaultWords(k, 'markdown');
    return [
      `\`${k.path}\``,
      k.type,
      k.defaultText !== undefined ? escapeHtml(defaults) : defaults,
      k.env !== undefined ? `\`${k.env}\`` : '',
      escapeHtml(description),
    ].map(cell);
  });
  return [
    '| Key | Type | Default | Environment | Description |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The docs page with its generated block replaced by the current table. */
export function injectKeyTable(doc: string): string {
  const begin = doc.indexOf(TABLE_BEGIN);
  const end = doc.indexOf(TABLE_END);
  if (begin < 0 || end < begin)
    throw new Error(`${DOCS_FILE} lacks the markers ${TABLE_BEGIN} … ${TABLE_END}`);
  const block = ['### Environment variables', renderEnvTable(), '### Keys', renderKeyTable()].join('\n\n');
  return `${doc.slice(0, begin + TABLE_BEGIN.length)}\n\n${block}\n\n${doc.slice(end)}`;
}

/** Every environment variable the loader reads, and the key each one overrides. */
export function renderEnvTable(): string {
  const rows = [
    [
      '`SWITCHBOARD_CONFIG`',
      'the config file itself',
      'Path of the YAML file (relative to the working directory). Default: config/switchboard.yaml when it exists, else no file.',
    ],
    ...configKeys()
      .filter((k) => k.env !== undefined)
      .map((k) => [`\`${k.env!}\``, `\`${k.path}\``, escapeHtml(k.description)]),
  ];
  return [
    '| Variable | Overrides | Meaning |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function secretNote(k: ConfigKeyDoc): string {
  return k.sensitive === 'url-credentials' ? 'Its password is masked in logs.' : 'Secret: masked in logs.';
}

/** `adapters/<id>` would be read as an HTML tag by Markdown renderers. */
function escapeHtml(s: string): string {
  return s.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function defaultWords(k: ConfigKeyDoc, style: 'markdown' | 'plain'): string {
  const code = (s: string) => (style === 'markdown' ? `\`${s}\`` : s);
  if (k.defaultText !== undefined) return k.defaultText;
  if (k.kind === 'section') return style === 'markdown' ? '' : 'see its keys';
  if (k.hasDefault) return code(inlineYaml(k.default));
  return k.required ? 'required' : 'unset';
}

// ---------------------------------------------------------------------------------------------------
// config/switchboard.example.yaml

const WIDTH = 100;

export function renderExampleYaml(): string {
  const keys = configKeys();
  const out: string[] = [
    '# yaml-language-server: $schema=./switchboard.schema.json',
    '#',
    '# Switchboard configuration: every key, with its description, default and environment variable.',
    '#',
    '# Copy this file to config/switchboard.yaml (or point SWITCHBOARD_CONFIG at your copy) and change what',
    '# you need. Keys left out take their defaults, and environment variables override the file. Active',
    '# lines below are the defaults; commented lines show optional keys with an example value.',
    '# A bad file stops the gateway with exit code 2 and a message naming the file, the key and the problem.',
    '#',
    `# Generated from src/config/config.schema.ts by \`${REGENERATE}\`: edit the schema, not this file.`,
  ];
  for (const k of keys.filter((x) => x.segments.length === 1)) {
    out.push('');
    renderKey(k, keys, 0, out);
  }
  return `${out.join('\n')}\n`;
}

function renderKey(k: ConfigKeyDoc, all: readonly ConfigKeyDoc[], depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const name = k.segments[k.segments.length - 1]!;
  out.push(...comment(k.description, pad));
  if (k.kind === 'section') {
    out.push(`${pad}${name}:`);
    for (const child of childrenOf(k, all)) renderKey(child, all, depth + 1, out);
    return;
  }
  out.push(...facts(k, pad));
  if (k.kind === 'list' && k.children.length > 0) {
    out.push(`${pad}# Each entry:`);
    for (const child of childrenOf(k, all)) renderEntryField(child, all, `${pad}#   `, out);
    if (k.example !== undefined) {
      out.push(`${pad}# For example:`);
      for (const line of stringify({ [name]: k.example }, { lineWidth: 0 })
        .trimEnd()
        .split('\n'))
        out.push(`${pad}# ${line}`);
    }
    return;
  }
  // Defaults that are plain values are written out; secrets, computed defaults and optional keys are
  // shown commented, so the file states only what it means to set.
  const active = k.hasDefault && k.defaultText === undefined && k.sensitive === undefined;
  const value = active ? k.default : (k.example ?? k.default);
  out.push(`${pad}${active ? '' : '# '}${name}: ${inlineYaml(value)}`);
}

/** `- id (string, required): The adapter id …` and, for a list inside the entry, its fields below it. */
function renderEntryField(
  k: ConfigKeyDoc,
  all: readonly ConfigKeyDoc[],
  prefix: string,
  out: string[],
): void {
  const name = k.segments[k.segments.length - 1]!;
  const qualifiers = [k.type, defaultWords(k, 'plain'), ...(k.sensitive !== undefined ? ['secret'] : [])]
    .filter((q) => q !== 'unset')
    .map((q) => (q === 'required' || q === k.type || q === 'secret' ? q : `default ${q}`));
  const lines = wrap(`- ${name} (${qualifiers.join(', ')}): ${k.description}`, WIDTH - prefix.length);
  out.push(...lines.map((l, i) => `${prefix}${i === 0 ? '' : '  '}${l}`));
  for (const child of childrenOf(k, all)) renderEntryField(child, all, `${prefix}  `, out);
}

function childrenOf(k: ConfigKeyDoc, all: readonly ConfigKeyDoc[]): ConfigKeyDoc[] {
  const prefix = k.kind === 'list' ? [...k.segments, '[]'] : k.segments;
  return all.filter(
    (c) => c.segments.length === prefix.length + 1 && prefix.every((s, i) => c.segments[i] === s),
  );
}

/** Type, default, variable: wrapped between facts, so `Environment: PORT.` stays on one line. */
function facts(k: ConfigKeyDoc, pad: string): string[] {
  const parts = [`Type: ${k.type}.`];
  const d = defaultWords(k, 'plain');
  parts.push(d === 'required' ? 'Required.' : d === 'unset' ? 'Default: unset.' : `Default: ${d}.`);
  if (k.env !== undefined) parts.push(`Environment: ${k.env}.`);
  if (k.sensitive !== undefined) parts.push(secretNote(k));
  const width = WIDTH - pad.length - 2;
  const lines: string[] = [];
  for (const part of parts) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + part.length <= width)
      lines[lines.length - 1] = `${last} ${part}`;
    else lines.push(...wrap(part, width));
  }
  return lines.map((l) => `${pad}# ${l}`);
}

function comment(text: string, pad: string): string[] {
  return wrap(text, WIDTH - pad.length - 2).map((l) => `${pad}# ${l}`);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

function inlineYaml(v: unknown): string {
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (typeof v === 'object' && v !== null && Object.keys(v).length === 0) return '{}';
  return stringify(v, { lineWidth: 0, collectionStyle: 'flow' }).trimEnd();
}
