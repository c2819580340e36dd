-- One index of the ledger by member instead of two (issue 6, the budget of
-- orders with their points): club_ledger_member now also carries each
-- entry's spend and its time, so the qualifying spend of a member's tier
-- window (ClubOrderSpend, ClubSpend) is summed from this index alone,
-- and club_ledger_spend is gone. Each order's earn entry wrote both, at
-- two places chosen by the member, so two index pages written and logged
-- per order at random positions where one now does. The ledger of a member
-- is still listed by (member_id, id). The sum now steps over all of the
-- member's entries instead of those of the window, each read from the
-- index (before, a lookup into the table for each entry of the window).
DROP INDEX club_ledger_spend;
DROP INDEX club_ledger_member;
CREATE INDEX club_ledger_member ON club_ledger(member_id, id, spend, spend_at);
