-- The INVITEs a node holds for the operator queue (answered `182 Queued`, or answered by an
-- operator and still in a dialog with the caller), kept so that the node can still answer
-- them after a crash: re-adopt a waiting caller, or tell the caller the call was lost.
-- One row per held call of a node; the queue entries of the call (`queue_calls`, the same
-- node and Call-ID; a call moved by an overflow has several) say where it stands.

CREATE TABLE held_invites (
    node          text NOT NULL,
    call_id       text NOT NULL,
    -- The caller's INVITE as the node received it (its top Via stamped with received/rport).
    invite        bytea NOT NULL,
    -- Where the responses to it go (RFC 3261 §18.2.2), and the listener port it came in on.
    transport     text NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls', 'ws', 'wss')),
    host          text NOT NULL,
    port          integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    local_port    integer NOT NULL DEFAULT 0 CHECK (local_port BETWEEN 0 AND 65535),
    -- Our To tag in the 182 (and in the 200 when an operator answered).
    to_tag        text NOT NULL CHECK (to_tag <> ''),
    held_at       timestamptz NOT NULL DEFAULT now(),
    -- Set when the caller was answered (a confirmed dialog: it ends with a BYE).
    answered_at   timestamptz,
    PRIMARY KEY (node, call_id)
);
