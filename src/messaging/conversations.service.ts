import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { ClientEventsService } from '../events/client-events.service';
import { ApiError } from '../api/api-error';
import { isForeignKeyViolation } from '../api/error.filter';
import {
  isReceiptsCapable,
  isRoomsCapable,
  RemoteMessageId,
  RemoteRoomId,
  RemoteUserId,
  type RoomSummary,
} from '../sdk';
import { Account, Conversation, Endpoint, Message, MessageRemoteId } from '../storage/entities';
import { DATA_SOURCE } from '../tokens';
import { findOrCreateConversation } from './conversation.store';
import { iso } from '../common/time';

@Injectable()
export class ConversationsService {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly accounts: AccountsService,
    private readonly events: ClientEventsService,
  ) {}

  async list(ownerId: string) {
    const rows = await this.ds.getRepository(Conversation).find({ where: { ownerId } });
    const accounts = new Map(
      (await this.ds.getRepository(Account).find({ where: { ownerId } })).map((a) => [a.id, a.adapterId]),
    );
    return rows
      .map((c) => ({
        id: c.id,
        accountId: c.accountId,
        network: accounts.get(c.accountId) ?? 'unknown',
        kind: c.kind,
        title: c.title ?? c.remoteId,
        address: c.remoteId,
        unread: c.unread,
        lastMessageAt: c.lastMessageAt,
      }))
      .sort((a, b) => (b.lastMessageAt ?? 0) - (a.lastMessageAt ?? 0))
      .map((c) => ({ ...c, lastMessageAt: iso(c.lastMessageAt) ?? null }));
  }

  /**
   * Marks a conversation read: its unread count drops to 0 for every client, and where the network
   * carries read receipts the newest message is marked read there too (best effort: the local state
   * does not depend on the network answering).
   */
  async markRead(ownerId: string, conversationId: string): Promise<{ id: string; unread: number }> {
    const repo = this.ds.getRepository(Conversation);
    const conv = await repo.findOne({ where: { id: conversationId, ownerId } });
    if (!conv) throw ApiError.notFound('conversation');
    await repo.update({ id: conv.id }, { unread: 0 });
    await this.events.publish(ownerId, 'conversation.updated', {
      id: conv.id,
      accountId: conv.accountId,
      unread: 0,
    });
    const client = this.accounts.connectedClient(conv.accountId);
    if (client && isReceiptsCapable(client)) {
      const newest = await this.ds
        .getRepository(Message)
        .findOne({ where: { conversationId: conv.id, self: false }, order: { sentAt: 'DESC' } });
      const ref = newest
        ? await this.ds.getRepository(MessageRemoteId).findOne({ where: { messageId: newest.id } })
        : null;
      if (ref)
        await client
          .markRead(RemoteRoomId(conv.remoteId), RemoteMessageId(ref.remoteId))
          .catch(() => undefined);
    }
    return { id: conv.id, unread: 0 };
  }

  async open(ownerId: string, input: { endpointId?: string; accountId?: string; address?: string }) {
    let accountId: string;
    let summary: RoomSummary;
    if (input.endpointId) {
      const ep = await this.ds.getRepository(Endpoint).findOne({ where: { id: input.endpointId, ownerId } });
      if (!ep) throw ApiError.notFound('endpoint');
      accountId = ep.accountId;
      const client = await this.connectedRoomsClient(accountId);
      summary = await this.unlessDeleted(accountId, client.openDirect(RemoteUserId(ep.address)));
    } else if (input.accountId && input.address) {
      const account = await this.accounts.owned(ownerId, input.accountId);
      accountId = account.id;
      const client = await this.connectedRoomsClient(accountId);
      summary = await this.unlessDeleted(accountId, client.joinRoom(input.address));
    } else {
      throw ApiError.validation('send either {endpointId} or {accountId, address}', [
        { field: 'endpointId' },
      ]);
    }
    let conv: Conversation;
    try {
      conv = await findOrCreateConversation(this.ds.manager, {
        ownerId,
        accountId,
        remoteId: summary.roomId,
        kind: summary.kind,
        ...(summary.title !== undefined ? { title: summary.title } : {}),
        ...(input.endpointId ? { peerEndpointId: input.endpointId } : {}),
      });
    } catch (err) {
      // The account was deleted while its room was being joined: the conversation has nothing to belong to.
      if (isForeignKeyViolation(err) && (await this.accounts.gone(accountId))) throw deletedWhileOpening();
      throw err;
    }
    return { id: conv.id, accountId, kind: conv.kind, title: conv.title, address: conv.remoteId };
  }

  /** The network's answer, unless the account was deleted meanwhile: its client was stopped under the call. */
  private async unlessDeleted<T>(accountId: string, call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      if (await this.accounts.gone(accountId)) throw deletedWhileOpening();
      throw err;
    }
  }

  private async connectedRoomsClient(accountId: string) {
    const client = this.accounts.connectedClient(accountId);
    if (!client) {
      // Stopped because it is being deleted: "try again" would be wrong.
      if (await this.accounts.gone(accountId)) throw deletedWhileOpening();
      throw ApiError.conflict('the account is not connected; try again when it is');
    }
    if (!isRoomsCapable(client))
      throw ApiError.badRequest('this network cannot open conversations from the gateway');
    return client;
  }
}

function deletedWhileOpening(): ApiError {
  return new ApiError(
    HttpStatus.NOT_FOUND,
    'NOT_FOUND',
    'account not found: it was deleted while the conversation was being opened',
  );
}
