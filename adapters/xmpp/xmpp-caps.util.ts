import { createHash } from 'node:crypto';
import type xml from '@xmpp/xml';
import { NS } from './xmpp.namespaces';

type Element = xml.Element;

export const JINGLE_AUDIO = 'urn:xmpp:jingle:apps:rtp:audio';
export const JINGLE_VIDEO = 'urn:xmpp:jingle:apps:rtp:video';

/** A presence's XEP-0115 `<c/>`, when it has one with the hash this client can verify. */
export function capsOf(presence: Element): { node: string; ver: string; hash: string } | undefined {
  const c = presence.getChild('c', NS.caps);
  const { node, ver, hash } = c?.attrs ?? {};
  if (!node || !ver || !hash) return undefined;
  return { node, ver, hash };
}

export function featuresOf(info: Element): Set<string> {
  return new Set(info.getChildren('feature').flatMap((f) => (f.attrs.var ? [f.attrs.var] : [])));
}

/**
 * The XEP-0115 §5.1 verification string hashed with sha-1, from a disco#info answer, so that the answer can
 * be cached under `ver` for every other contact running the same client. Answers with extended forms
 * (XEP-0128) are not verified here and so never cached by `ver`.
 */
export function capsVer(info: Element): string | undefined {
  if (info.getChildren('x', NS.dataForms).length > 0) return undefined;
  const identities = info
    .getChildren('identity')
    .map(
      (i) =>
        `${i.attrs.category ?? ''}/${i.attrs.type ?? ''}/${i.attrs['xml:lang'] ?? ''}/${i.attrs.name ?? ''}`,
    )
    .sort();
  const features = [...featuresOf(info)].sort();
  const s = [...identities, ...features].map((x) => `${x}<`).join('');
  return createHash('sha1').update(s, 'utf8').digest('base64');
}

/** What a set of resources' features say about calls: any resource that can do it counts. */
export function callCapabilities(resources: Iterable<ReadonlySet<string>>): {
  voice: boolean;
  video: boolean;
} {
  let voice = false;
  let video = false;
  for (const f of resources) {
    voice ||= f.has(JINGLE_AUDIO);
    video ||= f.has(JINGLE_VIDEO);
  }
  return { voice, video };
}
