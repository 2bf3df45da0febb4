// Small text helpers shared by components.

const REPLY_PREFIX = /^\s*(re|fw|fwd|aw|wg|odp|pd|sv|vs|השב|הועבר|رد|إعادة توجيه)\s*:\s*/iu;

/** A subject without its "Re:" / "Fwd:" / "Odp:" / "השב:" / "رد:" prefixes, for comparing subjects. */
export function baseSubject(subject: string): string {
  let s = subject;
  for (;;) {
    const next = s.replace(REPLY_PREFIX, '');
    if (next === s) return s.trim();
    s = next;
  }
}
