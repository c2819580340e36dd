-- One index of orders led by the customer instead of three (issue 6, the
-- budget of orders with their points). orders_contact (contact_id, id)
-- and orders_contact_placed (contact_id, placed_at) each put every new
-- order at a place chosen by its customer, so each order wrote, logged
-- and checkpointed two more index pages at random positions.
-- orders_contact_stats (contact_id, status, placed_at, total,
-- returned_total) now serves what they did: a customer's orders are
-- found by its first column and sorted in memory (a customer has few);
-- the campaigns' attribution finds a person's orders the same way and
-- tests placed_at in the index; the analytics stream walks it in
-- customer order and sorts each customer's orders by id.
DROP INDEX orders_contact;
DROP INDEX orders_contact_placed;
