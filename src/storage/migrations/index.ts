import { InitialSchema1795704019196 } from './1795704019196-initial-schema.migration';
import { MessageSearch1795800000000 } from './1795800000000-message-search.migration';
import { RelayLinks1795900000000 } from './1795900000000-relay-links.migration';
import { MediaFiles1796000000000 } from './1796000000000-media-files.migration';
import { OwnPresence1796100000000 } from './1796100000000-own-presence.migration';
import { MembershipHolds1796200000000 } from './1796200000000-membership-holds.migration';
import { AccountLoginKey1796300000000 } from './1796300000000-account-login-key.migration';

/** Every migration, oldest first. Add new ones at the end; never edit one that has shipped. */
export const MIGRATIONS = [
  InitialSchema1795704019196,
  MessageSearch1795800000000,
  RelayLinks1795900000000,
  MediaFiles1796000000000,
  OwnPresence1796100000000,
  MembershipHolds1796200000000,
  AccountLoginKey1796300000000,
] as const;
