import { ApiProperty } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class CreateAccountDto {
  @ApiProperty({ description: 'An adapter id from GET /api/v1/adapters', example: 'irc' })
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,31}$/, { message: 'adapter must be an adapter id such as "irc"' })
  adapter!: string;

  @ApiProperty({ required: false, maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  label?: string;

  @ApiProperty({
    description: "The adapter's account options (see API.md); validated by the adapter's schema.",
  })
  @IsObject()
  options!: Record<string, unknown>;
}

export class AccountDto {
  @ApiProperty() id!: string;
  @ApiProperty() adapter!: string;
  @ApiProperty({ nullable: true, type: String }) label!: string | null;
  @ApiProperty({
    enum: ['connecting', 'connected', 'transient_disconnect', 'bad_credentials', 'logged_out', 'error'],
  })
  state!: string;
  @ApiProperty({ nullable: true, type: String, description: 'Why the account is in this state, in words.' })
  stateMessage!: string | null;
  @ApiProperty({ description: 'Non-secret options; secrets are never returned.' })
  options!: Record<string, unknown>;
  @ApiProperty() createdAt!: string;
}
