import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiError } from '../api-error';
import { bearerToken, CurrentUser, Public } from './auth.guard';
import { CreateUserDto, LoginDto, LoginResponseDto, UserDto } from './auth.dto';
import { AuthService, type AuthUser } from './auth.service';

@ApiTags('auth')
@Controller('api/v1')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('auth/login')
  @HttpCode(200)
  @ApiOkResponse({ type: LoginResponseDto })
  async login(@Body() body: LoginDto, @Req() req: Request): Promise<LoginResponseDto> {
    // req.ip is the client's address as `server.trustProxy` allows (X-Forwarded-For from a trusted proxy
    // only); the socket's address would be the proxy's, shared by every user behind it.
    return this.auth.login(body.username, body.password, req.ip ?? req.socket.remoteAddress ?? 'unknown');
  }

  @Post('auth/logout')
  @HttpCode(204)
  @ApiBearerAuth()
  async logout(@Req() req: Request): Promise<void> {
    const token = bearerToken(req.headers.authorization);
    if (token) await this.auth.logout(token);
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOkResponse({ type: UserDto })
  me(@CurrentUser() user: AuthUser): UserDto {
    return user;
  }

  @Post('users')
  @ApiBearerAuth()
  @ApiCreatedResponse({ type: UserDto })
  async createUser(@CurrentUser() user: AuthUser, @Body() body: CreateUserDto): Promise<UserDto> {
    if (!user.isAdmin) throw ApiError.forbidden('only an admin may create users');
    return this.auth.createUser(body.username, body.password, body.isAdmin ?? false);
  }
}
