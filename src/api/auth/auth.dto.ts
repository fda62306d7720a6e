import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ example: 'admin' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  username!: string;

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password!: string;
}

export class LoginResponseDto {
  @ApiProperty({ description: 'Send as `Authorization: Bearer <token>`.' })
  token!: string;
  @ApiProperty({ description: 'ISO 8601 time after which the token no longer works.' })
  expiresAt!: string;
}

export class CreateUserDto {
  @ApiProperty({ description: 'Lowercase letters, digits, dot, dash, underscore; 2-64 characters.' })
  @IsString()
  @MaxLength(64)
  username!: string;

  @ApiProperty({ minLength: 8 })
  @IsString()
  @MinLength(8)
  @MaxLength(1024)
  password!: string;

  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @IsBoolean()
  isAdmin?: boolean;
}

export class UserDto {
  @ApiProperty() id!: string;
  @ApiProperty() username!: string;
  @ApiProperty() isAdmin!: boolean;
}
