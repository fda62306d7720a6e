import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';

export class OpenConversationDto {
  @ApiProperty({ required: false, description: 'Open a direct chat with this endpoint.' })
  @IsOptional()
  @IsUUID()
  endpointId?: string;

  @ApiProperty({ required: false, description: 'With `address`: join a room/channel on this account.' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  @ApiProperty({ required: false, example: '#switchboard' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  address?: string;
}

export class SendMessageDto {
  @ApiProperty({ maxLength: 65536 })
  @IsString()
  @MinLength(1)
  @MaxLength(65536)
  text!: string;

  @ApiProperty({
    required: false,
    description: 'Formatted body; sanitised to the portable formatting model.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(262144)
  html?: string;

  @ApiProperty({ required: false, description: 'Id of the message this replies to.' })
  @IsOptional()
  @IsUUID()
  replyTo?: string;

  @ApiProperty({
    required: false,
    description: 'Chosen by the client: a second send with the same clientId is the same message.',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  clientId?: string;
}

export class ListMessagesQuery {
  @IsOptional()
  @IsUUID()
  before?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class EditMessageDto {
  @ApiProperty({ maxLength: 65536, description: 'The new text.' })
  @IsString()
  @MinLength(1)
  @MaxLength(65536)
  text!: string;
}
