-- orders_placed also carries the customer and the status, so a segment
-- condition on the date of someone's orders ("last order in the last 30
-- days") can read the orders of that period from the index alone
-- (docs/performance.md, Segments). The list of orders by date reads the
-- same (placed_at, id) key as before.
DROP INDEX orders_placed;
CREATE INDEX orders_placed ON orders(placed_at, id) INCLUDE (contact_id, status);
