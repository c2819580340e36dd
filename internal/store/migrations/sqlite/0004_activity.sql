-- Activity: find a notification by its link, so deleting a note or a task
-- withdraws its notifications without reading every user's inbox.
CREATE INDEX notifications_link ON notifications(link);
