-- Nothing to change on PostgreSQL: the table stays keyed by result with its index by patient
-- (INCLUDE observation_id). The SQLite migration of the same name keeps the rows once, by
-- patient; the application reads and deletes them the same way on both (a result's
-- identifiers from its stored source, a replaced result's rows by their whole key).
SELECT 1;
