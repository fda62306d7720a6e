import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AccountsService } from '../../accounts/accounts.service';
import { ApiError } from '../api-error';
import { CurrentUser } from '../auth/auth.guard';
import type { AuthUser } from '../auth/auth.service';
import { AccountDto, CreateAccountDto } from './accounts.dto';

export const uuidPipe = new ParseUUIDPipe({
  exceptionFactory: () => ApiError.notFound('resource'),
});

@ApiTags('accounts')
@ApiBearerAuth()
@Controller('api/v1/accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  @ApiCreatedResponse({ type: AccountDto })
  create(@CurrentUser() user: AuthUser, @Body() body: CreateAccountDto): Promise<AccountDto> {
    return this.accounts.create(user.id, body);
  }

  @Get()
  @ApiOkResponse({ type: [AccountDto] })
  list(@CurrentUser() user: AuthUser): Promise<AccountDto[]> {
    return this.accounts.list(user.id);
  }

  @Get(':id')
  @ApiOkResponse({ type: AccountDto })
  get(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string): Promise<AccountDto> {
    return this.accounts.get(user.id, id);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string): Promise<void> {
    await this.accounts.remove(user.id, id);
  }
}
