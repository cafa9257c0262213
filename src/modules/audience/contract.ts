/**
 * The audience module's published face (viewers; rewards arrive in a later contract version).
 * Mirrors: GET /audience/api/v1/audiences/{audienceId}.
 */

export type AudienceStatus = 'ACTIVE' | 'DISABLED';

export interface AudienceDto {
  audienceId: number;
  nickname: string;
  status: AudienceStatus;
  createdAt: string;
  updatedAt: string;
}

export const AUDIENCE_ERROR_CODES = ['AUDIENCE_NOT_FOUND'] as const;

export interface AudienceServiceClient {
  /** The viewer, or null when there is none with this id. */
  getAudience(audienceId: number): Promise<AudienceDto | null>;
}
