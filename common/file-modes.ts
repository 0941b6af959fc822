/** Folders Longread makes in the data home (and the home itself): the owner only (books, chats and answers are private). */
export const PRIVATE_DIR_MODE = 0o700;
/** Files Longread writes in the data home (database, settings, uploads, engine state, models, graphs): the owner only. */
export const PRIVATE_FILE_MODE = 0o600;
