-- Refuses while any result is stored packed: dropping body would lose it (the older columns of
-- such rows are empty). Unpack first, or restore the backup taken before the upgrade.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM observations WHERE length(body) > 0)
       OR EXISTS (SELECT 1 FROM observation_history WHERE length(body) > 0) THEN
        RAISE EXCEPTION 'results are stored packed (body); dropping the column would lose them';
    END IF;
END $$;
ALTER TABLE observation_history DROP COLUMN body;
ALTER TABLE observations DROP COLUMN body;
