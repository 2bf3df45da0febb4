// Mock backend for the shell (follow-ups, settings, team, import, accounts, parse_when, due_count). Returns undefined for commands it does not know.
import type { Command, Commands } from './types';

export function mockShell<C extends Command>(cmd: C, args: Commands[C]['args']): unknown {
  void args;
  switch (cmd) {
    default:
      return undefined;
  }
}
