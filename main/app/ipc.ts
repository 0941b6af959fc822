import { z } from 'zod';
import type { ApiResult } from '../../common/api';
import { issuesOf } from '../api/errors';
import { senderAllowed, type SenderInfo } from './security';

const invokeMessage = z.strictObject({ method: z.string().min(1).max(100), payload: z.unknown() });

/**
 * One `longread:invoke` message: the sender must be the app's own top frame, the message
 * `{ method, payload }`, and the payload is then validated against the method's schema by
 * the dispatcher. Refusals are answered, never thrown, so the renderer always gets a code.
 */
export async function handleInvoke(api: { call(method: unknown, payload: unknown): Promise<ApiResult> }, event: SenderInfo, message: unknown): Promise<ApiResult> {
  if (!senderAllowed(event)) {
    return { ok: false, error: { code: 'forbidden', message: 'This message did not come from the Longread window.' } };
  }
  const parsed = invokeMessage.safeParse(message);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    return { ok: false, error: { code: 'invalid-request', message: `Invalid IPC message: ${issues.map((i) => `${i.path || '(message)'}: ${i.message}`).join('; ')}.`, issues } };
  }
  return api.call(parsed.data.method, parsed.data.payload);
}
