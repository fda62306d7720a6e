import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { SearchService } from '../../messaging/search.service';
import { CurrentUser } from '../auth/auth.guard';
import type { AuthUser } from '../auth/auth.service';

export class SearchQuery {
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  q!: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

@ApiTags('conversations')
@ApiBearerAuth()
@Controller('api/v1/messages')
export class SearchController {
  constructor(private readonly search: SearchService) {}

  @Get('search')
  @ApiOkResponse({
    description: 'Your messages containing every word of `q`, newest first (with conversationId).',
  })
  messages(@CurrentUser() user: AuthUser, @Query() query: SearchQuery) {
    return this.search.messages(user.id, query.q, query.limit ?? 50);
  }
}
