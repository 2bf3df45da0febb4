// Keyboard shortcuts for the whole window. Letters are matched by physical key (event.code)
// so they work the same with a Hebrew, Arabic or Polish keyboard layout.
import type { MessageKey } from './i18n';

export type ShortcutAction =
  | 'next'
  | 'previous'
  | 'open'
  | 'reply'
  | 'note'
  | 'close'
  | 'snooze'
  | 'followup'
  | 'search'
  | 'goInbox'
  | 'goFollowups'
  | 'help';

/** What the help dialog lists: the keys to press (in order) and what they do. */
export const SHORTCUTS: readonly { keys: string[][]; label: MessageKey }[] = [
  { keys: [['j']], label: 'shortcuts.next' },
  { keys: [['k']], label: 'shortcuts.previous' },
  { keys: [['o'], ['Enter']], label: 'shortcuts.open' },
  { keys: [['r']], label: 'shortcuts.reply' },
  { keys: [['n']], label: 'shortcuts.note' },
  { keys: [['e']], label: 'shortcuts.close' },
  { keys: [['s']], label: 'shortcuts.snooze' },
  { keys: [['f']], label: 'shortcuts.followup' },
  { keys: [['/']], label: 'shortcuts.search' },
  { keys: [['g', 'i']], label: 'shortcuts.go_inbox' },
  { keys: [['g', 'f']], label: 'shortcuts.go_followups' },
  { keys: [['?']], label: 'shortcuts.help' },
  { keys: [['Esc']], label: 'shortcuts.escape' },
];

const SINGLE: Readonly<Record<string, ShortcutAction>> = {
  j: 'next',
  k: 'previous',
  o: 'open',
  r: 'reply',
  n: 'note',
  e: 'close',
  s: 'snooze',
  f: 'followup',
};

const AFTER_G: Readonly<Record<string, ShortcutAction>> = { i: 'goInbox', f: 'goFollowups' };

/** How long "g" waits for its second key. */
const SEQUENCE_MS = 1200;

/** True when keys typed here are text, not shortcuts. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

/** Buttons, links and summaries act on Enter themselves. */
function activatesOnEnter(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.closest('button, a[href], summary, [role="button"], [role="option"]') !== null;
}

/** The latin letter of a key press, whatever the layout ("KeyJ" → "j"). */
function letter(event: KeyboardEvent): string | null {
  if (/^Key[A-Z]$/.test(event.code)) return event.code.slice(3).toLowerCase();
  return /^[a-z]$/i.test(event.key) ? event.key.toLowerCase() : null;
}

/**
 * A keydown handler for the window: works out the action and calls `run` with it.
 * `run` returns false when the action does not apply right now (the key then does its usual thing).
 */
export function shortcutHandler(run: (action: ShortcutAction) => boolean): (event: KeyboardEvent) => void {
  let pendingG = 0;

  return (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    // Escape is left to the search box and dialogs; everything else waits until typing stops.
    if (isTyping(event.target)) return;
    // A modal dialog (the help) owns the keyboard while it is open.
    if (document.querySelector('dialog[open]')) return;

    let action: ShortcutAction | undefined;
    const key = letter(event);
    if (pendingG && Date.now() - pendingG < SEQUENCE_MS && key) {
      action = AFTER_G[key];
      pendingG = 0;
      if (!action) return;
    } else if (event.key === '?' || (event.code === 'Slash' && event.shiftKey)) {
      action = 'help';
    } else if (event.key === '/' || event.code === 'Slash') {
      action = 'search';
    } else if (event.key === 'Enter') {
      if (activatesOnEnter(event.target)) return;
      action = 'open';
    } else if (key === 'g' && !event.shiftKey) {
      pendingG = Date.now();
      event.preventDefault();
      return;
    } else if (key && !event.shiftKey) {
      action = SINGLE[key];
    }
    pendingG = 0;
    if (action && run(action)) event.preventDefault();
  };
}
