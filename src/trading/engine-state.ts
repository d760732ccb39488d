/**
 * The trading engine's state, published on `trading.engine.state` when it changes and exported as
 * `tachyon_trading_engine_state{state}` (1 for the current state):
 * - active: accepting commands;
 * - halted: a journal commit failed (or was fenced); commands answer 503 until the state is rebuilt,
 *   and the engine waits between rebuild attempts here;
 * - recovering: rebuilding in-memory state from the database (after a halt, or an operator reload);
 * - stopped: shutting down.
 */
export const ENGINE_STATES = ['active', 'halted', 'recovering', 'stopped'] as const;
export type EngineState = (typeof ENGINE_STATES)[number];

export interface EngineStateEvent {
  state: EngineState;
  previous: EngineState;
  /** Why it changed, when something failed (the commit or rebuild error's message). */
  reason: string | null;
  ts: number;
}
