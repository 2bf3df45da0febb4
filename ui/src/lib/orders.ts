// What an order's status reads as, from the shop's financial/fulfilment fields.
import { tKnown } from './i18n';
import type { OrderRow } from './types';

/** The most telling state of an order (cancelled, else fulfilment, else payment), localised when known. */
export function orderState(order: OrderRow): { key: string; label: string } | null {
  const key = order.cancelled_at
    ? 'cancelled'
    : order.fulfilled_at && !order.fulfillment_status
      ? 'fulfilled'
      : (order.fulfillment_status ?? order.financial_status);
  if (!key) return null;
  const norm = key.trim().toLowerCase().replace(/[\s-]+/g, '_');
  return { key: norm, label: tKnown(`customer.order_status.${norm}`, key) };
}

/** An order number without the shop's leading "#" (Shopify stores "#1001"); the strings add their own. */
export function bareNumber(number: string): string {
  return number.replace(/^#/, '');
}
