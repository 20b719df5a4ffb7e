-- A paused sandbox keeps files only (its detached disk and its snapshot), described here; and the
-- running time it had left, which its deadline counts again from the resume.
ALTER TABLE wrenn_sandboxes ADD COLUMN paused jsonb;
ALTER TABLE wrenn_sandboxes ADD COLUMN remaining_ms bigint;
