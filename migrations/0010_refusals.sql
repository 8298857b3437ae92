-- New calls and registrations a node refused with 503 while it shed load (overload control),
-- counted per interval. They are refused before anything about the caller is known, so they
-- have no call record; the traffic report adds them to the calls offered.

CREATE TABLE refusals (
    node           text NOT NULL,
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz NOT NULL CHECK (ended_at >= started_at),
    invites        integer NOT NULL CHECK (invites >= 0),
    registrations  integer NOT NULL CHECK (registrations >= 0),
    PRIMARY KEY (node, started_at)
);

CREATE INDEX refusals_started_at_idx ON refusals (started_at);
