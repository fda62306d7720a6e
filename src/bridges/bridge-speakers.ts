import { In, IsNull, MoreThan, type EntityManager } from 'typeorm';
import type { BridgedSpeaker } from '../core/bridge-mentions';
import { Endpoint, Message } from '../storage/entities';

/** How long someone counts as present after they last spoke. */
export const SPEAKER_WINDOW_MS = 30 * 24 * 3600_000;
/** The most recent speakers kept per conversation. */
export const SPEAKERS_PER_CONVERSATION = 200;
/** Rows read when a conversation's speakers are first needed. */
const LOAD_ROWS = 5000;
const ENDPOINT_CACHE_MAX = 10_000;

interface Seen {
  userId: string;
  name: string;
  at: number;
}

/**
 * Who spoke natively in each bridged conversation lately: the names a mention can mean. The messages
 * table is the record (a conversation's list is read from it the first time it is needed, so it survives
 * restarts); after that each relayed message keeps the list current here, without a query per message.
 * The user's own messages (`self`) and copies (`origin`) are never speakers, so the gateway's own
 * account is never a name to match.
 */
export class BridgeSpeakers {
  private readonly lists = new Map<string, Map<string, Seen>>();
  private readonly addresses = new Map<string, string>();
  /** Bumped when a name is added, changed or dropped: `of` reuses its answer until then (a busy room). */
  private version = 0;
  private readonly answers = new Map<string, { version: number; at: number; speakers: BridgedSpeaker[] }>();

  /** The speakers of these conversations, each list read from the messages table once. */
  async of(
    m: EntityManager,
    conversationIds: readonly string[],
    networkOf: (conversationId: string) => string,
    now = Date.now(),
  ): Promise<BridgedSpeaker[]> {
    const key = conversationIds.join('\0');
    const answer = this.answers.get(key);
    if (answer && answer.version === this.version && now - answer.at < 60_000) return answer.speakers;
    const out: BridgedSpeaker[] = [];
    for (const conversationId of conversationIds) {
      const list = await this.list(m, conversationId, now);
      const network = networkOf(conversationId);
      for (const s of list.values())
        if (now - s.at <= SPEAKER_WINDOW_MS)
          out.push({ userId: s.userId, name: s.name, network, conversationId });
    }
    if (this.answers.size > 1000) this.answers.clear();
    this.answers.set(key, { version: this.version, at: now, speakers: out });
    return out;
  }

  /** A native message was stored: its sender is (still) a speaker there, under the name they used. */
  async saw(m: EntityManager, msg: Message): Promise<void> {
    if (msg.self || msg.origin || !msg.senderEndpointId || !msg.senderName) return;
    const list = await this.list(m, msg.conversationId, Date.now());
    const userId = await this.address(m, msg.senderEndpointId);
    if (userId === undefined) return;
    const known = list.get(msg.senderEndpointId);
    if (known && known.at > msg.sentAt) return; // replayed history: the newer name stands
    if (known?.name !== msg.senderName) this.version++;
    list.delete(msg.senderEndpointId); // re-inserted last: the Map's order is recency
    list.set(msg.senderEndpointId, { userId, name: msg.senderName, at: msg.sentAt });
    if (list.size > SPEAKERS_PER_CONVERSATION) list.delete(list.keys().next().value!);
  }

  private async list(m: EntityManager, conversationId: string, now: number): Promise<Map<string, Seen>> {
    const hit = this.lists.get(conversationId);
    if (hit) return hit;
    const rows = await m.find(Message, {
      where: { conversationId, self: false, origin: IsNull(), sentAt: MoreThan(now - SPEAKER_WINDOW_MS) },
      select: { senderEndpointId: true, senderName: true, sentAt: true },
      order: { sentAt: 'DESC' },
      take: LOAD_ROWS,
    });
    const latest = new Map<string, { name: string; at: number }>();
    for (const r of rows)
      if (r.senderEndpointId && r.senderName && !latest.has(r.senderEndpointId))
        latest.set(r.senderEndpointId, { name: r.senderName, at: r.sentAt });
    const ids = [...latest.keys()].slice(0, SPEAKERS_PER_CONVERSATION);
    const endpoints = ids.length
      ? await m.find(Endpoint, { where: { id: In(ids) }, select: { id: true, address: true } })
      : [];
    const address = new Map(endpoints.map((e) => [e.id, e.address]));
    const list = new Map<string, Seen>();
    // Oldest first, so the Map's order is recency like `saw` keeps it.
    for (const id of ids.reverse()) {
      const userId = address.get(id);
      const seen = latest.get(id)!;
      if (userId !== undefined) list.set(id, { userId, name: seen.name, at: seen.at });
    }
    // Another relay may have loaded it meanwhile: keep the first (later `saw` calls update it).
    const again = this.lists.get(conversationId);
    if (again) return again;
    this.lists.set(conversationId, list);
    this.version++;
    return list;
  }

  private async address(m: EntityManager, endpointId: string): Promise<string | undefined> {
    const hit = this.addresses.get(endpointId);
    if (hit !== undefined) return hit;
    const e = await m.findOne(Endpoint, { where: { id: endpointId }, select: { id: true, address: true } });
    if (!e) return undefined;
    if (this.addresses.size >= ENDPOINT_CACHE_MAX) this.addresses.clear();
    this.addresses.set(endpointId, e.address);
    return e.address;
  }
}
