import type { Presence } from '@switchboard/sdk';
import xml from '@xmpp/xml';
import { NS } from './xmpp.namespaces';

type Element = xml.Element;
export type ChatType = 'chat' | 'groupchat';

/** Code points, as XEP-0428 fallback ranges count them. */
const cpLength = (s: string): number => [...s].length;

/**
 * A text message. The stanza `id` and the XEP-0359 origin-id are the same value (the gateway's transaction
 * id), so that a retried send carries the same id, and XEP-0308 corrections (which reference the `id`) and
 * our own message ids (origin-id) agree.
 */
export function buildTextMessage(m: {
  to: string;
  type: ChatType;
  id: string;
  text: string;
  replyTo?: { id: string; to: string; quote?: string };
  /** http(s) links to files: XEP-0066 OOB, so clients show them inline. */
  oob?: readonly string[];
}): Element {
  let body = m.text;
  const extra: Element[] = [];
  for (const url of m.oob ?? [])
    if (/^https?:\/\//i.test(url)) extra.push(xml('x', { xmlns: NS.oob }, xml('url', {}, url)));
  if (m.replyTo) {
    // XEP-0461 reply with a XEP-0428 fallback quote for clients without reply support.
    extra.push(xml('reply', { xmlns: NS.reply, to: m.replyTo.to, id: m.replyTo.id }));
    if (m.replyTo.quote !== undefined) {
      const quoted = m.replyTo.quote
        .split('\n')
        .map((l) => `> ${l}`)
        .join('\n');
      const prefix = `${quoted}\n`;
      body = prefix + m.text;
      extra.push(
        xml(
          'fallback',
          { xmlns: NS.fallback, for: NS.reply },
          xml('body', { start: 0, end: cpLength(prefix) }),
        ),
      );
    }
  }
  return xml(
    'message',
    { to: m.to, type: m.type, id: m.id },
    xml('body', {}, body),
    xml('origin-id', { xmlns: NS.sid, id: m.id }),
    m.type === 'chat' ? xml('request', { xmlns: NS.receipts }) : undefined,
    m.type === 'chat' ? xml('markable', { xmlns: NS.markers }) : undefined,
    m.type === 'chat' ? xml('active', { xmlns: NS.chatStates }) : undefined,
    ...extra,
  );
}

/** XEP-0308: replaces the text of the message whose `id` was `replaces`. */
export function buildCorrection(m: {
  to: string;
  type: ChatType;
  id: string;
  replaces: string;
  text: string;
}): Element {
  return xml(
    'message',
    { to: m.to, type: m.type, id: m.id },
    xml('body', {}, m.text),
    xml('replace', { xmlns: NS.correct, id: m.replaces }),
    xml('origin-id', { xmlns: NS.sid, id: m.id }),
  );
}

/** XEP-0424 retraction, with the fallback body and store hint the XEP asks for. */
export function buildRetraction(m: {
  to: string;
  type: ChatType;
  id: string;
  retracts: string;
  reason?: string;
}): Element {
  return xml(
    'message',
    { to: m.to, type: m.type, id: m.id },
    xml(
      'retract',
      { xmlns: NS.retract1, id: m.retracts },
      m.reason ? xml('reason', {}, m.reason) : undefined,
    ),
    xml('fallback', { xmlns: NS.fallback, for: NS.retract1 }),
    xml(
      'body',
      {},
      'This person attempted to retract a previous message, but it is unsupported by your client.',
    ),
    xml('store', { xmlns: NS.hints }),
  );
}

/** XEP-0085: composing while typing, active when stopped. */
export function buildChatState(m: { to: string; type: ChatType; typing: boolean }): Element {
  return xml(
    'message',
    { to: m.to, type: m.type },
    xml(m.typing ? 'composing' : 'active', { xmlns: NS.chatStates }),
    xml('no-store', { xmlns: NS.hints }),
  );
}

/** XEP-0184 delivery receipt for a message that asked for one. */
export function buildReceipt(m: { to: string; id: string }): Element {
  return xml('message', { to: m.to }, xml('received', { xmlns: NS.receipts, id: m.id }));
}

/** XEP-0333 read marker. */
export function buildDisplayed(m: { to: string; type: ChatType; id: string }): Element {
  return xml(
    'message',
    { to: m.to, type: m.type },
    xml('displayed', { xmlns: NS.markers, id: m.id }),
    xml('store', { xmlns: NS.hints }),
  );
}

/** Our own presence: available (no show), away, busy (dnd), offline (unavailable). */
export function buildPresence(p: Presence, priority = 0): Element {
  if (p.state === 'offline')
    return xml('presence', { type: 'unavailable' }, p.status ? xml('status', {}, p.status) : undefined);
  const show = p.state === 'away' ? 'away' : p.state === 'busy' ? 'dnd' : undefined;
  return xml(
    'presence',
    {},
    show ? xml('show', {}, show) : undefined,
    p.status ? xml('status', {}, p.status) : undefined,
    xml('priority', {}, String(priority)),
  );
}
