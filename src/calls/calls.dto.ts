import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';

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

export class IceCandidateDto {
  @ApiProperty({ description: 'The a=candidate line without "a=" (as RTCIceCandidate.candidate).' })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  candidate!: string;

  @ApiProperty({ required: false })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  sdpMid?: string;

  @ApiProperty({ required: false })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(64)
  sdpMLineIndex?: number;
}

export class CallCandidatesDto {
  @ApiProperty({ type: [IceCandidateDto], description: "The client's trickled ICE candidates." })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => IceCandidateDto)
  candidates!: IceCandidateDto[];
}
