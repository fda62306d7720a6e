import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RosterService } from '../../roster/roster.service';
import { uuidPipe } from '../accounts/accounts.controller';
import { CurrentUser } from '../auth/auth.guard';
import type { AuthUser } from '../auth/auth.service';
import { AddContactDto, MergeContactDto, SetPresenceDto, SplitContactDto } from './contacts.dto';

@ApiTags('contacts')
@ApiBearerAuth()
@Controller('api/v1')
export class ContactsController {
  constructor(private readonly roster: RosterService) {}

  @Get('contacts')
  list(@CurrentUser() user: AuthUser) {
    return this.roster.list(user.id);
  }

  @Get('contacts/suggestions')
  suggestions(@CurrentUser() user: AuthUser) {
    return this.roster.suggestions(user.id);
  }

  @Get('contacts/:id')
  get(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string) {
    return this.roster.get(user.id, id);
  }

  @Post('contacts/:id/merge')
  @HttpCode(200)
  merge(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string, @Body() body: MergeContactDto) {
    return this.roster.merge(user.id, id, body.otherId);
  }

  @Post('contacts/:id/not-same')
  @HttpCode(200)
  notSame(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string, @Body() body: MergeContactDto) {
    return this.roster.markDistinct(user.id, id, body.otherId);
  }

  @Post('contacts/:id/split')
  @HttpCode(200)
  split(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string, @Body() body: SplitContactDto) {
    return this.roster.split(user.id, id, body.endpointId);
  }

  @Post('accounts/:id/contacts')
  @HttpCode(202)
  add(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string, @Body() body: AddContactDto) {
    return this.roster.addContact(user.id, id, body.address);
  }

  @Get('presence')
  ownPresence(@CurrentUser() user: AuthUser) {
    return this.roster.ownPresence(user.id);
  }

  @Put('presence')
  setPresence(@CurrentUser() user: AuthUser, @Body() body: SetPresenceDto) {
    return this.roster.setOwnPresence(user.id, body);
  }
}
