import { Column, Entity, JoinColumn, ManyToOne, Unique, type Relation } from 'typeorm';
import { EpochMsColumn, RefColumn, TextColumn } from '../columns';
import { Message } from './message.entity';

/**
 * A file a bridge fetched from a network (docs/adr/0014-bridged-media.md): checked, stored once per
 * attachment of its source message, and served at /media/<id>/<name>. The id is 192 random bits (the link
 * is the only key); the bytes are base64 text, the one column type that reads the same on SQLite and
 * PostgreSQL through TypeORM, bounded by `media.maxBytes`.
 */
@Entity('media_files')
@Unique('UQ_media_files_source', ['sourceMessageId', 'sourceIndex'])
export class MediaFile {
  @Column({ type: 'varchar', length: 64, primary: true, primaryKeyConstraintName: 'PK_media_files' })
  id!: string;

  @RefColumn()
  ownerId!: string;

  /** The message the file came with; deleting it deletes the file. */
  @RefColumn()
  sourceMessageId!: string;

  @ManyToOne(() => Message, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sourceMessageId', foreignKeyConstraintName: 'FK_media_files_source' })
  source?: Relation<Message>;

  /** Which of the message's attachments. */
  @Column({ type: 'integer' })
  sourceIndex!: number;

  @TextColumn()
  name!: string;

  /** The checked type (sniffed for images), never only what the sender declared. */
  @Column({ type: 'varchar', length: 255 })
  mimeType!: string;

  @Column({ type: 'integer' })
  size!: number;

  @TextColumn()
  dataBase64!: string;

  @EpochMsColumn()
  createdAt!: number;
}
