-- A sandbox's lifecycle settings ({"onTimeout": "Destroy"|"Pause", "idleSeconds": n|null, "autoResume":
-- bool, "timeoutSeconds": n}), kept with it across pauses, resumes, restarts and re-adoption; null for
-- sandboxes recorded before them (destroy on timeout, no autoPause, no autoResume). And why a paused
-- sandbox was paused (User, Idle, Timeout, Shutdown), null unless it is paused.
ALTER TABLE wrenn_sandboxes ADD COLUMN lifecycle jsonb;
ALTER TABLE wrenn_sandboxes ADD COLUMN paused_reason text;
