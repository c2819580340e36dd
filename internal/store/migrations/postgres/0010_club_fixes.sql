-- The customer club, after its first use (docs/club.md):
--   * a program may let people join by themselves through a public web
--     form (/join/{program});
--   * a paid tier's purchases are logged with the tier movements
--     (direction 'paid');
--   * entries without an idempotency key (an order's earn, guarded by its
--     lot's uniqueness; expiries) stay out of the key's index, one index
--     page fewer written per order.

ALTER TABLE club_programs ADD COLUMN signup BOOLEAN NOT NULL DEFAULT FALSE;

DROP INDEX club_ledger_idem;
CREATE UNIQUE INDEX club_ledger_idem ON club_ledger(idem_key) WHERE idem_key IS NOT NULL;
