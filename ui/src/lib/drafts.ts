// Composer drafts survive closing the screen: saved to localStorage per conversation.

export interface Draft {
  mode: 'reply' | 'chat' | 'note';
  text: string;
  attachments: string[];
  /** The "send later" field as typed (datetime-local value), or ''. */
  sendAt: string;
}

const PREFIX = 'shopdesk.draft.';

/** Drafts of a conversation by id; drafts for a customer without a conversation (notes only) by customer. */
export function draftKey(conversationId: number | null, customerId: number): string {
  return conversationId === null ? `${PREFIX}customer-${customerId}` : `${PREFIX}${conversationId}`;
}

export function loadDraft(key: string): Draft | null {
  try {
    const raw = localStorage.getItem(key);
    if (!raw) return null;
    const d = JSON.parse(raw) as Partial<Draft>;
    if (typeof d.text !== 'string') return null;
    return {
      mode: d.mode === 'reply' || d.mode === 'chat' || d.mode === 'note' ? d.mode : 'reply',
      text: d.text,
      attachments: Array.isArray(d.attachments) ? d.attachments.filter((a) => typeof a === 'string') : [],
      sendAt: typeof d.sendAt === 'string' ? d.sendAt : '',
    };
  } catch {
    return null; // storage disabled or a corrupt entry: start empty
  }
}

export function saveDraft(key: string, draft: Draft): void {
  try {
    if (!draft.text && draft.attachments.length === 0) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(draft));
  } catch {
    // Full or disabled storage: the draft just is not kept.
  }
}

export function clearDraft(key: string): void {
  try {
    localStorage.removeItem(key);
  } catch {
    // nothing to clear
  }
}
