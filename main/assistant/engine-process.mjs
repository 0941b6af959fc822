// Entry of the assistant's engine process (see engine-process.ts): TypeScript sources run through
// tsx here as in the rest of the app; in the packaged app this file is bundled and needs no loader.
import { register } from 'tsx/esm/api';

register();
await import('./engine-process-main.ts');
