/**
 * ONNX Runtime 1.30 on Linux, when it creates its environment, runs a recursive std::regex over
 * /proc/self/cmdline for its telemetry. A command line longer than about 29 KB (for example
 * `longread generate --input-ids` with 5,000 ids) overflows the thread's stack: SIGSEGV at any input
 * length our graphs could handle. Turning telemetry off skips that scan. ONNX Runtime reads the real
 * process environment, which only the main thread can change (a worker thread's `process.env` is a
 * copy), so this runs on import of the runtime; the engine process gets it in its environment too.
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY = '1';
}
