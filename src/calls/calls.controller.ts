import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { uuidPipe } from '../api/accounts/accounts.controller';
import { CurrentUser } from '../api/auth/auth.guard';
import type { AuthUser } from '../api/auth/auth.service';
import { AcceptCallDto, CallCandidatesDto, CallRoutesQueryDto, PlaceCallDto } from './calls.dto';
import { CallsService } from './calls.service';

@ApiTags('calls')
@ApiBearerAuth()
@Controller('api/v1')
export class CallsController {
  constructor(private readonly calls: CallsService) {}

  @Get('contacts/:id/call-routes')
  routes(
    @CurrentUser() user: AuthUser,
    @Param('id', uuidPipe) id: string,
    @Query() query: CallRoutesQueryDto,
  ) {
    return this.calls.routes(user.id, id, query.media ?? 'audio');
  }

  /** STUN/TURN servers for the client's own WebRTC stack (TURN credentials are time-limited when possible). */
  @Get('calls/ice-servers')
  iceServers(@CurrentUser() user: AuthUser) {
    return this.calls.iceServers(user.id);
  }

  @Post('calls')
  place(@CurrentUser() user: AuthUser, @Body() body: PlaceCallDto) {
    return this.calls.place(user.id, body);
  }

  @Get('calls')
  list(@CurrentUser() user: AuthUser) {
    return this.calls.list(user.id);
  }

  @Get('calls/:id')
  get(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string) {
    return this.calls.get(user.id, id);
  }

  @Delete('calls/:id')
  hangup(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string) {
    return this.calls.hangup(user.id, id);
  }

  @Post('calls/:id/accept')
  @HttpCode(200)
  accept(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string, @Body() body: AcceptCallDto) {
    return this.calls.accept(user.id, id, body.sdp);
  }

  /** Trickle ICE: the client's candidates go to the network (Matrix m.call.candidates, Jingle transport-info). */
  @Post('calls/:id/candidates')
  @HttpCode(202)
  candidates(
    @CurrentUser() user: AuthUser,
    @Param('id', uuidPipe) id: string,
    @Body() body: CallCandidatesDto,
  ) {
    return this.calls.candidates(user.id, id, body.candidates);
  }

  @Post('calls/:id/reject')
  @HttpCode(200)
  reject(@CurrentUser() user: AuthUser, @Param('id', uuidPipe) id: string) {
    return this.calls.reject(user.id, id);
  }
}
