import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';

export class PlaceCallDto {
  @ApiProperty({ required: false, description: 'Call this contact: the negotiator picks the best route.' })
  @IsOptional()
  @IsUUID()
  contactId?: string;

  @ApiProperty({ required: false, description: 'Call exactly this endpoint.' })
  @IsOptional()
  @IsUUID()
  endpointId?: string;

  @ApiProperty({ enum: ['audio', 'video'] })
  @IsIn(['audio', 'video'])
  media!: 'audio' | 'video';

  @ApiProperty({
    required: false,
    description:
      "The client's SDP offer, passed through to the network. Without it the gateway terminates the media " +
      'itself (plain RTP: SIP routes only).',
  })
  @IsOptional()
  @IsString()
  @MinLength(10)
  @MaxLength(64 * 1024)
  sdp?: string;
}

export class AcceptCallDto {
  @ApiProperty({ required: false, description: "The client's SDP answer; without it the gateway answers." })
  @IsOptional()
  @IsString()
  @MinLength(10)
  @MaxLength(64 * 1024)
  sdp?: string;
}

export class CallRoutesQueryDto {
  @ApiProperty({ enum: ['audio', 'video'], required: false })
  @IsOptional()
  @IsIn(['audio', 'video'])
  media?: 'audio' | 'video';
}
