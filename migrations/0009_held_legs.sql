-- The other legs of a held call that is up: the operator's while the operator talks to the
-- caller, the destination's once connected. Enough of each dialog (RFC 3261 §12) to end it
-- with a BYE after a crash, so that no phone stays in a call the exchange has lost:
-- [{"role", "transport", "call_id", "local_tag", "remote_tag", "local_uri", "remote_uri",
--   "remote_target", "route_set"}, ...].

ALTER TABLE held_invites ADD COLUMN legs jsonb NOT NULL DEFAULT '[]'::jsonb
    CHECK (jsonb_typeof(legs) = 'array');
