import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ConversationsService } from '../../messaging/conversations.service';
import { OutboxService } from '../../messaging/outbox.service';
import { uuidPipe } from '../accounts/accounts.controller';
import { CurrentUser } from '../auth/auth.guard';
import type { AuthUser } from '../auth/auth.service';
import { EditMessageDto, ListMessagesQuery, OpenConversationDto, SendMessageDto } from './conversations.dto';

@ApiTags('conversations')
@ApiBearerAuth()
@Controller('api/v1/conversations')
export class ConversationsController {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly outbox: OutboxService,
  ) {}

  @Get()
  list(@CurrentUser() user: AuthUser) {
    return this.conversations.list(user.id);
  }

  @Post()
  open(@CurrentUser() user: AuthUser, @Body() body: OpenConversationDto) {
    return this.conversations.open(user.id, body);
  }

  @Post(':id/read')
  @HttpCode(200)
  @ApiOkResponse({ description: '{ id, unread: 0 }; a read receipt goes to networks that carry them.' })
  markRead(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string) {
    return this.conversations.markRead(user.id, id);
  }

  @Get(':id/messages')
  messages(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string, @Query() q: ListMessagesQuery) {
    return this.outbox.list(user.id, id, q.before, q.limit ?? 50);
  }

  @Post(':id/messages')
  @HttpCode(202)
  @ApiAcceptedResponse({ description: '{ id, status }: the message is stored and queued; it is never lost.' })
  send(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string, @Body() body: SendMessageDto) {
    return this.outbox.submit(user.id, id, body);
  }

  @Patch(':id/messages/:mid')
  @ApiOkResponse({ description: 'The edited message; the edit reaches the network through the outbox.' })
  edit(
    @CurrentUser() user: AuthUser,
    @Param('id', uuidPipe) id: string,
    @Param('mid', uuidPipe) mid: string,
    @Body() body: EditMessageDto,
  ) {
    return this.outbox.edit(user.id, id, mid, body.text);
  }

  @Delete(':id/messages/:mid')
  @HttpCode(204)
  async redact(
    @CurrentUser() user: AuthUser,
    @Param('id', uuidPipe) id: string,
    @Param('mid', uuidPipe) mid: string,
  ) {
    await this.outbox.redact(user.id, id, mid);
  }
}
