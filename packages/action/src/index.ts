// The bundle's entry (dist/action.cjs), what the runner starts with `node`.
import { run } from './main.js';

// Everything the action does is awaited in run(); what is left on the loop afterwards (idle
// keep-alive connections, client timers) only delays the step: measured, 0.1–0.3 s per run. So
// exit once stdout has been flushed (the callback runs after the earlier writes, on every OS).
void run().then(() => process.stdout.write('', () => process.exit()));
