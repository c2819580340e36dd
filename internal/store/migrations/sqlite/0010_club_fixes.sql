-- The customer club, after its first use (docs/club.md):
--   * a program may let people join by themselves through a public web
--     form (/join/{program});
--   * a paid tier's purchases are logged with the tier movements
--     (direction 'paid'), so the recomputation knows since when a member
--     earned at a paid tier.

ALTER TABLE club_programs ADD COLUMN signup BOOLEAN NOT NULL DEFAULT FALSE;
