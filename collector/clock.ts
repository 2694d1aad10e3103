// The collector's time: every component that reads the time or waits takes a Clock
// (createCollector passes one down). One Clock for both apps: proto/support/clock.ts.
export { MAX_TIMER_MS, systemClock, type Clock } from '../proto/support/clock.js';
