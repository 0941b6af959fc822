// The engine process: the engine's message loop (engine-worker-main.ts) on the link to the app.
import { parentLink } from '../process/child-link';
import { serveEngine } from './engine-worker-main';
import type { FromWorker, ToWorker } from './types';

serveEngine(parentLink<ToWorker, FromWorker>());
