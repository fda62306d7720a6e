import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';

export class CreateBridgeDto {
  @ApiProperty({
    type: [String],
    description:
      'The conversations to link (two or more, each once, all yours): messages in one are relayed to the others.',
  })
  @IsArray()
  @ArrayMinSize(2)
  @ArrayMaxSize(16)
  @IsUUID('all', { each: true })
  conversations!: string[];

  @ApiProperty({ required: false, maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiProperty({
    required: false,
    description:
      'templates: relay text per target network (adapter id) or `default`, with {nick} {text} {network} {bridge} ' +
      '(defaults: irc `<{nick}> {text}`, elsewhere `{nick}: {text}`); notice: post relays as notices.',
    example: { templates: { irc: '<{nick}> {text}' }, notice: false },
  })
  @IsOptional()
  @IsObject()
  options?: Record<string, unknown>;
}
