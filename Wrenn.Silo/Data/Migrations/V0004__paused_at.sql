-- When a sandbox was paused: its retention counts from then, and is armed again from this column
-- whenever its grain activates (after a restart, or on a database the old runtime wrote, where
-- the last change of a paused sandbox was its pause).
ALTER TABLE wrenn_sandboxes ADD COLUMN paused_at timestamptz;
UPDATE wrenn_sandboxes SET paused_at = updated_at WHERE state = 'Paused';
