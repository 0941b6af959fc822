// Worker-thread entry: TypeScript sources run through tsx here as in the rest of the app.
import { register } from 'tsx/esm/api';

register();
await import('./ingest-worker-main.ts');
