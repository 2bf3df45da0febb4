// Bench mode, for bench/desktop only: when the backend hands out a plan (env
// SHOPDESK_BENCH_CUSTOMER), the window measures the speed targets on itself, the
// way a user meets them, and reports each figure to the backend, which prints it:
//   inbox     first inbox rows painted (ms since the page started; the script adds the
//             process start from the wall clock it prints)
//   customer  click → the customer's timeline painted
//   search    last keystroke → results painted (once per query)
// Everything goes through the DOM (data-testid), like the end-to-end tests, so the
// components carry no bench code.
import { call, isTauri } from './api';

interface BenchPlan {
  customer_id: number;
  /** A second customer to open in between, so the measured open is not the first. */
  other_customer_id: number | null;
  queries: string[];
}

/** When `css` last appeared in the DOM (before painting), for telling script from paint. */
let inDom = 0;

/** Resolves once `css` matches, after the frame that shows it has been painted. */
function painted(css: string, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      inDom = performance.now();
      observer.disconnect();
      clearTimeout(timer);
      // Two frames: the first runs before paint, the second after it.
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
    };
    const observer = new MutationObserver(() => {
      if (document.querySelector(css)) done();
    });
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`bench: ${css} never appeared`));
    }, timeoutMs);
    if (document.querySelector(css)) done();
    else observer.observe(document.body, { childList: true, subtree: true, attributes: true });
  });
}

async function report(phase: string, ms: number): Promise<void> {
  await call('bench_report', { phase, ms });
}

/** Types `text` into the search box as one input event (the end of typing). */
function typeSearch(text: string): void {
  const input = document.querySelector<HTMLInputElement>('[data-testid=search-input]');
  if (!input) throw new Error('bench: no search box');
  input.focus();
  input.value = text;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Opens a customer the way the inbox does; `open` is the shell's own function. */
export async function runBench(open: (customerId: number) => void): Promise<void> {
  if (!isTauri()) return;
  const plan: BenchPlan | null = await call('bench_plan', {});
  if (!plan) return;
  try {
    await report('inbox', await painted('[data-testid=conversation-row]'));

    // The first open pays for compiling the screen's code; the figure a user meets all
    // day is a later one, so both are reported.
    const openAndTime = async (id: number): Promise<number> => {
      const start = performance.now();
      open(id);
      const shown = await painted(`[data-testid=customer-screen][data-customer-id="${id}"] [data-testid=timeline-item]`);
      return shown - start;
    };
    await report('customer-first', await openAndTime(plan.customer_id));
    if (plan.other_customer_id !== null) {
      await report('other-customer', await openAndTime(plan.other_customer_id));
      await report('customer', await openAndTime(plan.customer_id));
    }

    // The IPC round trips alone, to tell backend + transport from rendering.
    let t0 = performance.now();
    await call('due_count', {});
    await report('ipc:due_count', performance.now() - t0);
    t0 = performance.now();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    await report('idle two frames', performance.now() - t0);
    t0 = performance.now();
    await call('customer_view', { customerId: plan.customer_id });
    await report('ipc:customer_view', performance.now() - t0);
    for (const q of plan.queries) {
      t0 = performance.now();
      await call('search', { query: q, limit: 30 });
      await report(`ipc:search:${q}`, performance.now() - t0);
    }

    for (const q of plan.queries) {
      typeSearch('');
      await new Promise((r) => setTimeout(r, 300));
      const before = performance.now();
      typeSearch(q);
      const at = await painted('[data-testid=search-result]');
      await report(`search:${q}`, at - before);
      await report(`search-in-dom:${q}`, inDom - before);
    }
  } catch (e) {
    await report(`error:${String(e)}`, 0);
  }
  await report('done', performance.now());
}
