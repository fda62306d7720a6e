import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { PRESENCE_STATES } from '../../sdk';

export class MergeContactDto {
  @ApiProperty({ description: 'The contact whose endpoints move into this one.' })
  @IsUUID()
  otherId!: string;
}

export class SplitContactDto {
  @ApiProperty({ description: 'The endpoint that becomes a contact of its own.' })
  @IsUUID()
  endpointId!: string;
}

export class AddContactDto {
  @ApiProperty({ description: "The contact's address on the network (nick, JID, Matrix id, SIP URI)." })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  address!: string;
}

export class SetPresenceDto {
  @ApiProperty({ enum: PRESENCE_STATES.filter((s) => s !== 'unknown') })
  @IsIn(PRESENCE_STATES.filter((s) => s !== 'unknown'))
  state!: 'available' | 'away' | 'busy' | 'offline';

  @ApiProperty({ required: false, maxLength: 512, description: 'Your status message.' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  status?: string;
}
