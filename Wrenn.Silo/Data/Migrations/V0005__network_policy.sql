-- A sandbox's egress policy ({"internet": bool, "allow": [...], "deny": [...]}), kept with it across
-- pauses, restarts and re-adoption. Null for sandboxes recorded before policies existed: they follow
-- their host's default.
ALTER TABLE wrenn_sandboxes ADD COLUMN network jsonb;
