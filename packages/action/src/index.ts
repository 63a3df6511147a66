// The bundle's entry (dist/action.cjs), what the runner starts with `node`.
import { run } from './main.js';

void run();
