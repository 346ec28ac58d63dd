-- Refuses while any result is stored packed: dropping body would lose it (the older columns of
-- such rows are empty). Unpack first, or restore the backup taken before the upgrade.
CREATE TEMP TABLE packed_results_guard (packed INTEGER CHECK (packed = 0));
INSERT INTO packed_results_guard
    SELECT (SELECT count(*) FROM observations WHERE length(body) > 0)
         + (SELECT count(*) FROM observation_history WHERE length(body) > 0);
DROP TABLE packed_results_guard;
ALTER TABLE observation_history DROP COLUMN body;
ALTER TABLE observations DROP COLUMN body;
