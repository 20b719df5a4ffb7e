-- Wrenn's own grain runtime gave way to Orleans. Its tables go: membership, directory and pins
-- are Orleans' now (orleans_membership; placement reads wrenn_sandboxes.host), host reservations
-- are rebuilt from wrenn_sandboxes by the host grain, and each sandbox grain registers its
-- timeout or retention again from its record when it activates. A silo of the old runtime still
-- heartbeating into wrenn_silos keeps this step from running (the silo refuses to start, naming it).
DROP TABLE IF EXISTS wrenn_reminders;
DROP TABLE IF EXISTS wrenn_grain_state;
DROP TABLE IF EXISTS wrenn_grain_pins;
DROP TABLE IF EXISTS wrenn_grain_directory;
DROP TABLE IF EXISTS wrenn_silo_suspicions;
DROP TABLE IF EXISTS wrenn_silos;
DELETE FROM wrenn_schema_migrations WHERE module = 'runtime';
