-- Nothing to change on PostgreSQL: new links are written compactly by the application
-- (huren_store::ledger's LinkRow) and links written before read as they are. The SQLite
-- migration of the same name rebuilds its table WITHOUT ROWID; this one keeps the two
-- directories in step.
SELECT 1;
