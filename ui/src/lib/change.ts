import type { AppError } from './types';

/**
 * Runs a change from a sidebar panel: `setBusy(true)` meanwhile, then `after` (the reload);
 * an error goes to `onerror`. Resolves to whether both went through.
 */
export async function runChange(
  action: () => Promise<unknown>,
  { setBusy, after, onerror }: { setBusy: (busy: boolean) => void; after: () => Promise<void>; onerror: (e: AppError) => void },
): Promise<boolean> {
  setBusy(true);
  try {
    await action();
    await after();
    return true;
  } catch (e) {
    onerror(e as AppError);
    return false;
  } finally {
    setBusy(false);
  }
}
