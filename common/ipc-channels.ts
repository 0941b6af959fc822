/** The IPC channels between the preload and the main process (kept apart from api.ts so the preload bundle stays tiny). */
export const IPC_INVOKE_CHANNEL = 'longread:invoke';
export const IPC_EVENT_CHANNEL = 'longread:event';
