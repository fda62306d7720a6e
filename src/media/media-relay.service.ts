import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { insertRow } from '../common/db';
import type { Logger } from '../common/logger';
import type { AppConfig } from '../config';
import { renderRelay } from '../core/bridge-format';
import { ClientEventsService } from '../events/client-events.service';
import { messageView } from '../messaging/message.view';
import { type AttachmentsCapable, isAttachmentsCapable, isSendError, type RemoteAttachment } from '../sdk';
import {
  Account,
  Bridge,
  Conversation,
  MediaFile,
  Message,
  type StoredAttachment,
} from '../storage/entities';
import { CONFIG, DATA_SOURCE, LOGGER } from '../tokens';
import { checkMedia, essence, formatSize, mediaLabel, mediaUrl, safeFileName } from './media-check';

/** A file of the source message, as the relay shows it. */
type Resolved =
  | { kind: 'stored'; file: MediaFile }
  | { kind: 'refused'; reason: string; size?: number; mimeType: string }
  /** An http(s) link on the sender's side (XMPP upload): passed on, never fetched (no SSRF). */
  | { kind: 'link' }
  /** A network URL no adapter can fetch: shown as it came (as before media relaying). */
  | { kind: 'raw' };

/** A bridged copy made ready to send: its final text, the file links, and the file to upload if any. */
export interface PreparedCopy {
  msg: Message;
  links: { url: string; name: string; mimeType: string }[];
  upload?: { name: string; mimeType: string; data: Uint8Array; caption: string };
  /** With `upload`: the copy's text with links instead, for a target that refuses the file after all. */
  linked?: { text: string; html: string | null };
}

/** How long a refusal (too large, wrong type) is remembered so each copy does not fetch the file again. */
const REFUSAL_TTL_MS = 10 * 60_000;

/**
 * How long a file that cannot be fetched for a passing reason (its network is not connected, the server
 * answered 5xx or 429, the connection failed) holds its copy back: the outbox retries the send with its
 * backoff meanwhile. After that the copy goes out saying the file could not be fetched.
 */
export const FETCH_RETRY_MS = 10 * 60_000;

/** Thrown to the outbox: the copy waits and is retried (with the queue's backoff), the file may come. */
export class MediaNotReady extends Error {
  constructor(reason: string) {
    super(`a bridged file is not available yet (${reason}); the copy is retried`);
    this.name = 'MediaNotReady';
  }
}

/**
 * Files of bridged messages (docs/adr/0014-bridged-media.md). When a copy is about to be sent, each file
 * of its source message that the source network's adapter can fetch (Matrix mxc://) is fetched through
 * that adapter, size-limited and type-checked, stored once, and linked at <publicUrl>/media/<id>/<name>;
 * a target that takes files (Matrix) gets the file itself. An http(s) URL is never fetched.
 */
@Injectable()
export class MediaRelayService {
  private readonly inflight = new Map<string, Promise<Resolved>>();
  private readonly refusals = new Map<string, { at: number; result: Resolved }>();
  /** The first passing failure to fetch each file (`<source id>:<index>`), while it is being retried. */
  private readonly fetchFailures = new Map<string, number>();
  private warnedNoPublicUrl = false;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly accounts: AccountsService,
    private readonly events: ClientEventsService,
  ) {}

  /** A stored file by its id, for GET /media/:id; undefined when unknown or its message was deleted. */
  async find(id: string): Promise<{ name: string; mimeType: string; data: Buffer } | undefined> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(id)) return undefined;
    const file = await this.ds.getRepository(MediaFile).findOne({ where: { id } });
    if (!file) return undefined;
    const source = await this.ds
      .getRepository(Message)
      .findOne({ where: { id: file.sourceMessageId }, select: { id: true, deleted: true } });
    if (!source || source.deleted) return undefined;
    return { name: file.name, mimeType: file.mimeType, data: Buffer.from(file.dataBase64, 'base64') };
  }

  /**
   * The copy `copy` with its files resolved: called by the outbox just before it sends a bridged copy that
   * carries attachments. Idempotent (a file is fetched and stored once per source attachment), so a retried
   * send prepares again cheaply. Undefined when the copy has nothing to prepare.
   */
  async prepareCopy(
    copy: Message,
    targetNetwork: string,
    /** The target account's client when it takes files (AttachmentsCapable), else undefined. */
    target: AttachmentsCapable | undefined,
  ): Promise<PreparedCopy | undefined> {
    const origin = copy.origin;
    if (!origin || typeof origin.messageId !== 'string' || !copy.attachments?.length) return undefined;
    const source = await this.ds.getRepository(Message).findOne({ where: { id: origin.messageId } });
    const files = source?.attachments ?? [];
    if (!source || files.length === 0) return undefined;
    const resolved = await Promise.all(files.map((a, i) => this.resolve(source, a, i)));

    const publicUrl = this.config.server.publicUrl;
    if (!publicUrl && !this.warnedNoPublicUrl && resolved.some((r) => r.kind === 'stored')) {
      this.warnedNoPublicUrl = true;
      this.logger.warn(
        'bridged files are relayed without links: set server.publicUrl so that other networks can open them',
      );
    }
    const stored = resolved.flatMap((r) => (r.kind === 'stored' ? [r.file] : []));
    const single = target && files.length === 1 && stored.length === 1 ? stored[0] : undefined;
    // The target may take files only sometimes (XMPP: when its server offers upload, up to its limit).
    const upload =
      single &&
      (await (
        target?.acceptsAttachment?.({ name: single.name, mimeType: single.mimeType, size: single.size }) ??
        Promise.resolve(true)
      ).catch(() => false))
        ? single
        : undefined;
    const show = (withLinks: boolean) =>
      files.map((a, i) => {
        const r = resolved[i]!;
        if (r.kind === 'stored')
          return {
            name: r.file.name,
            label: mediaLabel(r.file),
            url: withLinks && publicUrl ? mediaUrl(publicUrl, r.file.id, r.file.name) : '',
          };
        if (r.kind === 'refused')
          return {
            name: a.name,
            label: mediaLabel({ name: a.name, mimeType: r.mimeType, size: r.size ?? a.size }, r.reason),
            url: '',
          };
        return { name: a.name, url: a.url };
      });

    const [bridge, sourceNetwork] = await Promise.all([
      typeof origin.bridgeId === 'string'
        ? this.ds.getRepository(Bridge).findOne({ where: { id: origin.bridgeId } })
        : null,
      this.networkOf(source.conversationId),
    ]);
    const options = (bridge?.options ?? {}) as { templates?: Record<string, string>; maxLength?: number };
    // A file message's text is usually the file's name or link (Matrix body, XMPP OOB body): said once.
    const echoText = files.some((a) => source.text.trim() === a.name || source.text.trim() === a.url);
    const render = (withLinks: boolean) =>
      renderRelay(
        {
          nick: typeof origin.nick === 'string' ? origin.nick : copy.senderName,
          text: echoText ? '' : source.text,
          html: echoText ? null : source.html,
          kind: source.kind,
          network: sourceNetwork,
          bridgeName: bridge?.name ?? null,
          attachments: show(withLinks),
        },
        targetNetwork,
        options.templates,
        options.maxLength,
      );
    const rendered = render(!upload);

    const attachments: StoredAttachment[] = files.flatMap((a, i): StoredAttachment[] => {
      const r = resolved[i]!;
      if (r.kind === 'stored')
        return [
          {
            name: r.file.name,
            mimeType: r.file.mimeType,
            size: r.file.size,
            // The web client is served from the gateway itself: a relative link works without publicUrl.
            url: publicUrl
              ? mediaUrl(publicUrl, r.file.id, r.file.name)
              : mediaUrl('', r.file.id, r.file.name),
          },
        ];
      return r.kind === 'link' ? [a] : [];
    });
    const msg: Message = { ...copy, text: rendered.text, html: rendered.html ?? null, attachments };
    if (
      msg.text !== copy.text ||
      msg.html !== copy.html ||
      JSON.stringify(msg.attachments) !== JSON.stringify(copy.attachments)
    ) {
      await this.ds
        .getRepository(Message)
        .update({ id: copy.id }, { text: msg.text, html: msg.html, attachments: msg.attachments });
      await this.events.publish(copy.ownerId, 'message.updated', messageView(msg));
    }
    const links = files.flatMap((a, i) => {
      const r = resolved[i]!;
      if (r.kind === 'stored' && publicUrl)
        return [
          { url: mediaUrl(publicUrl, r.file.id, r.file.name), name: r.file.name, mimeType: r.file.mimeType },
        ];
      if (r.kind === 'link') return [{ url: a.url, name: a.name, mimeType: a.mimeType }];
      return [];
    });
    if (!upload) return { msg, links };
    const full = await this.ds.getRepository(MediaFile).findOne({ where: { id: upload.id } });
    if (!full) return { msg, links };
    const withLinks = render(true);
    return {
      msg,
      links,
      linked: { text: withLinks.text, html: withLinks.html ?? null },
      upload: {
        name: full.name,
        mimeType: full.mimeType.split(';')[0]!,
        data: Buffer.from(full.dataBase64, 'base64'),
        caption: rendered.text,
      },
    };
  }

  private async networkOf(conversationId: string): Promise<string> {
    const conv = await this.ds.getRepository(Conversation).findOne({ where: { id: conversationId } });
    if (!conv) return 'unknown';
    const account = await this.ds
      .getRepository(Account)
      .findOne({ where: { id: conv.accountId }, select: { id: true, adapterId: true } });
    return account?.adapterId ?? 'unknown';
  }

  private async resolve(source: Message, a: StoredAttachment, index: number): Promise<Resolved> {
    // Never fetched on a sender's behalf: a URL of their choosing could point anywhere (SSRF).
    if (/^https?:\/\//i.test(a.url)) return { kind: 'link' };
    const key = `${source.id}:${index}`;
    const refused = this.refusals.get(key);
    if (refused && Date.now() - refused.at < REFUSAL_TTL_MS) return refused.result;
    const existing = await this.ds.getRepository(MediaFile).findOne({
      where: { sourceMessageId: source.id, sourceIndex: index },
      select: { id: true, name: true, mimeType: true, size: true, sourceMessageId: true },
    });
    if (existing) return { kind: 'stored', file: existing };
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchAndStore(source, a, index, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const result = await p;
    if (result.kind === 'refused') {
      for (const [k, v] of this.refusals) if (Date.now() - v.at >= REFUSAL_TTL_MS) this.refusals.delete(k);
      this.refusals.set(key, { at: Date.now(), result });
    }
    return result;
  }

  /**
   * A passing failure: the copy is held back (MediaNotReady, retried by the outbox) until FETCH_RETRY_MS
   * after the first one, then it goes out with the file refused for `reason`.
   */
  private passingFailure(key: string, reason: string, refused: Resolved): Resolved {
    const now = Date.now();
    for (const [k, at] of this.fetchFailures)
      if (now - at >= 2 * FETCH_RETRY_MS) this.fetchFailures.delete(k);
    const first = this.fetchFailures.get(key) ?? now;
    this.fetchFailures.set(key, first);
    if (now - first < FETCH_RETRY_MS) throw new MediaNotReady(reason);
    this.fetchFailures.delete(key);
    return refused;
  }

  private async fetchAndStore(
    source: Message,
    a: StoredAttachment,
    index: number,
    key: string,
  ): Promise<Resolved> {
    const max = this.config.media.maxBytes;
    const declared = essence(a.mimeType) ?? 'application/octet-stream';
    const conv = await this.ds.getRepository(Conversation).findOne({ where: { id: source.conversationId } });
    const client = conv ? this.accounts.connectedClient(conv.accountId) : undefined;
    if (!client)
      return this.passingFailure(key, 'its network is not connected', {
        kind: 'refused',
        reason: 'its network is not connected',
        mimeType: declared,
        ...size(a),
      });
    if (!isAttachmentsCapable(client)) return { kind: 'raw' };
    if (a.size !== undefined && a.size > max)
      return { kind: 'refused', reason: `larger than ${formatSize(max)}`, mimeType: declared, size: a.size };
    let fetched: { mimeType: string; data: Uint8Array };
    try {
      fetched = await client.fetchAttachment(a satisfies RemoteAttachment, max);
    } catch (err) {
      const tooLarge = (isSendError(err) && err.code === 'too_large') || /byte limit/.test(String(err));
      const refused: Resolved = {
        kind: 'refused',
        reason: tooLarge ? `larger than ${formatSize(max)}` : 'it could not be fetched',
        mimeType: declared,
        ...size(a),
      };
      if (tooLarge) return refused;
      // The network's files are links it never fetches (XMPP): shown as they came.
      if (isSendError(err) && err.code === 'unsupported') return { kind: 'raw' };
      this.logger.warn('a bridged file could not be fetched', { message: source.id, err: String(err) });
      // The adapter says whether trying again may help (a server error, a cut connection).
      if (isSendError(err) && err.retryable) return this.passingFailure(key, String(err.message), refused);
      return refused;
    }
    this.fetchFailures.delete(key);
    if (fetched.data.byteLength > max)
      return {
        kind: 'refused',
        reason: `larger than ${formatSize(max)}`,
        mimeType: declared,
        size: fetched.data.byteLength,
      };
    // The homeserver's type is the uploader's word too; a generic one says less than the event's.
    const claimed = essence(fetched.mimeType);
    const verdict = checkMedia(
      claimed && claimed !== 'application/octet-stream' ? claimed : declared,
      fetched.data,
    );
    if (!verdict.ok)
      return {
        kind: 'refused',
        reason: verdict.reason,
        mimeType: verdict.mimeType,
        size: fetched.data.byteLength,
      };
    const file: MediaFile = {
      // 192 random bits: the link is the only key to an unauthenticated download.
      id: randomBytes(24).toString('base64url'),
      ownerId: source.ownerId,
      sourceMessageId: source.id,
      sourceIndex: index,
      name: safeFileName(a.name),
      mimeType: verdict.mimeType,
      size: fetched.data.byteLength,
      dataBase64: Buffer.from(fetched.data).toString('base64'),
      createdAt: Date.now(),
    };
    try {
      await insertRow(this.ds.manager, MediaFile, file);
    } catch (err) {
      // Another gateway node stored it first (unique source and index): use theirs.
      const theirs = await this.ds
        .getRepository(MediaFile)
        .findOne({ where: { sourceMessageId: source.id, sourceIndex: index } });
      if (!theirs) throw err;
      return { kind: 'stored', file: theirs };
    }
    this.logger.info('bridged file stored', { message: source.id, type: file.mimeType, size: file.size });
    return { kind: 'stored', file };
  }
}

const size = (a: { size?: number }) => (a.size !== undefined ? { size: a.size } : {});
