import type { z } from 'zod';
import type { ErrorBody } from '../../common/api';
import { LongreadError } from '../../common/errors';

/** Codes the API itself produces, besides those of the services (`document-not-found`, `no-model`, …). */
export type ApiErrorCode = 'invalid-request' | 'unknown-method' | 'unsupported' | 'forbidden' | 'unauthorized' | 'internal';

/** A LongreadError with the field-by-field problems of an invalid request. */
export class InvalidRequestError extends LongreadError {
  readonly issues: NonNullable<ErrorBody['issues']>;
  constructor(method: string, issues: NonNullable<ErrorBody['issues']>) {
    super('invalid-request', `Invalid request for ${method}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}.`);
    this.issues = issues;
  }
}

export function issuesOf(error: z.ZodError): NonNullable<ErrorBody['issues']> {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** The wire form of any error: LongreadErrors keep their code; anything else is `internal` (details go to the log, not the page). */
export function toErrorBody(e: unknown): ErrorBody {
  if (e instanceof InvalidRequestError) return { code: e.code, message: e.message, issues: e.issues };
  if (e instanceof LongreadError) return e.file === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, file: e.file };
  return { code: 'internal', message: `Something went wrong inside Longread: ${publicDetail(e)}` };
}

/** What of an unexpected error may reach the page: its first line, without folder paths (a stack or source path never). */
export function publicDetail(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const firstLine = text.split('\n', 1)[0]!.slice(0, 300);
  return firstLine.replace(/(?:file:\/\/)?(?:[A-Za-z]:)?[\\/](?:[^\s'"()\\/]+[\\/])+/g, '');
}

/** HTTP status for an error code (browser mode). */
export function httpStatusOf(code: string): number {
  if (code === 'invalid-request' || code === 'invalid-json') return 400;
  if (code === 'unauthorized') return 401;
  if (code === 'forbidden') return 403;
  if (code === 'unknown-method' || code.endsWith('-not-found')) return 404;
  if (code === 'too-large') return 413;
  if (code === 'unsupported') return 501;
  if (code === 'busy') return 503;
  if (code === 'internal') return 500;
  return 422;
}
