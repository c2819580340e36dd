-- Scheduled campaigns (docs/marketing.md): a campaign can wait in status
-- 'scheduled' until scheduled_at, when its send job starts it. The
-- audience is read then, not when it was scheduled. NULL for a campaign
-- never scheduled or unscheduled again; kept once it starts, as a record.
ALTER TABLE campaigns ADD COLUMN scheduled_at TIMESTAMP;
