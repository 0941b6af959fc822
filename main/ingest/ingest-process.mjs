// Entry of the reader process (see ingest-process.ts): TypeScript sources run through tsx here as
// in the rest of the app; in the packaged app this file is bundled and needs no loader.
import { register } from 'tsx/esm/api';

register();
await import('./ingest-process-main.ts');
