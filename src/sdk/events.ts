import type { ConnectionStatus } from './connection';
import type { FormattedBody } from './formatting/model';
import type { CallId, RemoteMessageId, RemoteRoomId, RemoteUserId } from './ids';
import type { Presence } from './presence';

/** Who did something on the network. */
export interface RemoteSender {
  userId: RemoteUserId;
  displayName?: string;
  /** True when the network reports our own account as the sender (echo-message, carbons, own sync). */
  self?: boolean;
}

export interface RemoteAttachment {
  name: string;
  mimeType: string;
  size?: number;
  /** Where the gateway can fetch it through the adapter (network URL, e.g. mxc://); never fetched blindly. */
  url: string;
}

export type RoomKind = 'direct' | 'group';

interface EventBase {
  /** Network time of the event (server-time, origin_server_ts, delay stamp) or receive time (ISO 8601). */
  at: string;
}

interface RoomEventBase extends EventBase {
  roomId: RemoteRoomId;
}

/**
 * Everything that arrives from a network is one of these. The union is closed: the gateway switches
 * over `type` exhaustively, so adding a type is a contract change (an ADR and an SDK minor version).
 */
export type RemoteEvent =
  | ({ type: 'connection.state' } & EventBase & { status: ConnectionStatus })
  | ({ type: 'message' } & RoomEventBase & {
        messageId: RemoteMessageId;
        sender: RemoteSender;
        /** `notice` for bot/notice messages; `emote` for /me. */
        kind: 'text' | 'notice' | 'emote';
        text: string;
        formatted?: FormattedBody;
        replyTo?: RemoteMessageId;
        attachments?: RemoteAttachment[];
        /** Echo of a send of ours: the transaction id we gave it, when the network returns it. */
        transactionId?: string;
        /** True when this came from history backfill rather than live. */
        backfill?: boolean;
        roomKind?: RoomKind;
      })
  | ({ type: 'message.edit' } & RoomEventBase & {
        messageId: RemoteMessageId;
        /** The id of the edit event itself, when the network gives edits their own id. */
        editId?: RemoteMessageId;
        sender: RemoteSender;
        text: string;
        formatted?: FormattedBody;
      })
  | ({ type: 'message.redact' } & RoomEventBase & {
        messageId: RemoteMessageId;
        sender: RemoteSender;
        reason?: string;
      })
  | ({ type: 'reaction' } & RoomEventBase & {
        messageId: RemoteMessageId;
        reactionId?: RemoteMessageId;
        sender: RemoteSender;
        key: string;
        removed?: boolean;
      })
  | ({ type: 'typing' } & RoomEventBase & { userId: RemoteUserId; typing: boolean })
  | ({ type: 'receipt' } & RoomEventBase & {
        userId: RemoteUserId;
        messageId: RemoteMessageId;
        kind: 'delivered' | 'read';
      })
  | ({ type: 'presence' } & EventBase & { userId: RemoteUserId; presence: Presence; resource?: string })
  | ({ type: 'contact.upsert' } & EventBase & {
        userId: RemoteUserId;
        displayName?: string;
        avatarUrl?: string;
        /** Whatever the network says about the contact that can help merge people (emails, phones, handles). */
        hints?: { emails?: string[]; phones?: string[]; handles?: string[] };
        /**
         * Discovered per-contact capabilities (voice/video from disco/caps, OPTIONS …). Other keys are
         * network facts the call negotiator reads (src/core/voice): `codecs`, `features`, `resources`,
         * `directRoom`, `registered`, `trunk`.
         */
        capabilities?: { voice?: boolean; video?: boolean; [fact: string]: unknown };
      })
  | ({ type: 'contact.remove' } & EventBase & { userId: RemoteUserId })
  | ({ type: 'contact.request' } & EventBase & { userId: RemoteUserId; message?: string })
  | ({ type: 'room.upsert' } & RoomEventBase & {
        kind: RoomKind;
        title?: string;
        topic?: string;
        /** For a direct room: the other party. */
        peer?: RemoteUserId;
        encrypted?: boolean;
      })
  | ({ type: 'room.member' } & RoomEventBase & {
        userId: RemoteUserId;
        displayName?: string;
        membership: 'join' | 'leave' | 'invite' | 'kick' | 'ban';
        reason?: string;
        /**
         * True only for a change seen as it happened (someone joined, left, was kicked or renamed just now).
         * Absent or false for listings of who is already there: IRC NAMES, a MUC's occupant presences before
         * our own self-presence (status 110), a Matrix initial sync or a gap (limited timeline), backfill.
         * Bridges announce live changes only (ADR 0013); absent means "not known to be live".
         */
        live?: boolean;
        /** Our own account (our own JOIN on IRC, MUC status 110, our own Matrix user). */
        self?: boolean;
        /**
         * A nick or display-name change (display names). Where the name is the id (IRC, a MUC nick) it comes
         * as a `leave` of the old id and a `join` of the new one, both carrying `rename`; on Matrix (same id)
         * as a `join` of the same id. Member lists apply both halves; an announcement is made once, on the
         * `join` half.
         */
        rename?: { from: string; to: string };
        /** A network-wide quit (IRC QUIT), reported as a `leave` in each room shared with that user. */
        quit?: boolean;
      })
  | ({ type: 'room.left' } & RoomEventBase & { reason?: string })
  | ({ type: 'call.signal' } & EventBase & {
        callId: CallId;
        from: RemoteUserId;
        roomId?: RemoteRoomId;
        signal: 'invite' | 'ringing' | 'answer' | 'candidates' | 'select_answer' | 'hangup' | 'reject';
        sdp?: string;
        candidates?: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[];
        reason?: string;
      });

export type RemoteEventType = RemoteEvent['type'];
export type RemoteEventOf<T extends RemoteEventType> = Extract<RemoteEvent, { type: T }>;
