import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { BridgesService } from '../../bridges/bridges.service';
import { uuidPipe } from '../accounts/accounts.controller';
import { CurrentUser } from '../auth/auth.guard';
import type { AuthUser } from '../auth/auth.service';
import { CreateBridgeDto } from './bridges.dto';

@ApiTags('bridges')
@ApiBearerAuth()
@Controller('api/v1/bridges')
export class BridgesController {
  constructor(private readonly bridges: BridgesService) {}

  @Post()
  create(@CurrentUser() user: AuthUser, @Body() body: CreateBridgeDto) {
    return this.bridges.create(user, body);
  }

  @Get()
  list(@CurrentUser() user: AuthUser) {
    return this.bridges.list(user);
  }

  @Get(':id')
  get(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string) {
    return this.bridges.get(user, id);
  }

  /** The owner, or an admin, removes a bridge; copies already written stay linked for edits. */
  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string): Promise<void> {
    await this.bridges.remove(user, id);
  }
}
