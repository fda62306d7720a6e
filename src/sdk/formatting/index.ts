export * from './model';
export {
  FORMATTING_MAX_DEPTH,
  FORMATTING_MAX_DEPTH_CEILING,
  HTML_DEFAULT_MAX_BYTES,
  truncateUtf8,
  utf8Length,
} from './formatting.limits';
export * from './href.policy';
export { normalizeBody, type MentionOptions, type NormalizeOptions } from './body.normalizer';
export { fromPlainText, toPlainText, type ToPlainTextOptions } from './plain-text.converter';
export { escapeHtml, toHtml, type ToHtmlOptions } from './html-render.converter';
export {
  fromHtml,
  sanitizeHtml,
  TRUNCATION_MARK,
  type FromHtmlOptions,
  type SanitizeHtmlOptions,
} from './html-parse.converter';
