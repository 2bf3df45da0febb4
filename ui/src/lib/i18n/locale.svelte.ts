// The UI language as reactive state: t() reads it, so every string rendered through t()
// re-renders when the language changes (no remount, open drafts stay).
export const active = $state({ code: 'en' });
