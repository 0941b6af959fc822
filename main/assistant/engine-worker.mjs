// Worker-thread entry of the assistant's engine: TypeScript sources run through tsx here as in the rest of the app.
import { register } from 'tsx/esm/api';

register();
await import('./engine-worker-main.ts');
