-- The operator queue: operators and their positions, calls waiting for an operator, and the
-- settings of each queue. Every change is announced on channel softswitch_queue with a
-- payload that says what changed: 'call:ID:REVISION', 'operator:LOGIN:REVISION' or
-- 'config:QUEUE:REVISION'. A node that already has that revision in memory need not read the
-- row, and never replaces a newer one with an older.

-- A person who answers queued calls: a login for the console, and the line of the phone
-- (or headset) the softswitch rings when the operator takes a call.
CREATE TABLE operators (
    login            text PRIMARY KEY CHECK (login ~ '^[a-z][a-z0-9._-]{0,31}$'),
    display_name     text,
    -- argon2id, in the PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
    password_hash    text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    line_number      text NOT NULL REFERENCES lines (number) ON UPDATE CASCADE,
    -- The queues the operator serves (exchange codes or named queues).
    queues           text[] NOT NULL DEFAULT '{}',
    -- The position: where the operator is now (softswitch.queue.states.PositionState).
    position         text NOT NULL DEFAULT 'offline'
                     CHECK (position IN ('offline', 'available', 'busy', 'paused', 'wrap_up')),
    position_reason  text,
    position_since   timestamptz NOT NULL DEFAULT now(),
    -- When the operator last became available: the longest idle is offered calls first.
    idle_since       timestamptz,
    -- The end of the wrap-up time after a call.
    wrap_up_until    timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Raised by every position change: a node applies a notification only if it is newer.
    revision         integer NOT NULL DEFAULT 1
);

CREATE INDEX operators_line_number_idx ON operators (line_number);

-- One call's stay in one queue. A call moved to another queue by an overflow gets a new row.
CREATE TABLE queue_calls (
    id              bigserial PRIMARY KEY,
    queue           text NOT NULL CHECK (queue <> ''),
    -- The exchange the queue serves, when it is an exchange's queue.
    exchange        text,
    -- The calling line (or trunk:CODE) and its display name.
    caller          text NOT NULL,
    caller_display  text,
    -- The number as dialed; the line the call is for and its switchboard jack, if any.
    dialed          text NOT NULL,
    line            text,
    jack_label      text,
    -- 0..9, higher first; 9 is an emergency call.
    priority        smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
    state           text NOT NULL DEFAULT 'waiting'
                    CHECK (state IN ('waiting', 'offered', 'with_operator', 'connecting',
                                     'connected', 'completed', 'abandoned', 'overflowed',
                                     'failed')),
    -- What last happened to the row (softswitch.queue.states.CallEvent).
    event           text NOT NULL DEFAULT 'enqueued',
    -- The operator who took the call; the operators it is offered to now.
    operator        text,
    offered_to      text[] NOT NULL DEFAULT '{}',
    -- The number the operator connects the call to.
    connect_to      text,
    -- The node that holds the caller's INVITE, and the SIP Call-ID of that INVITE.
    node            text NOT NULL,
    call_id         text NOT NULL,
    -- How many overflows brought the call to this queue.
    hops            smallint NOT NULL DEFAULT 0 CHECK (hops >= 0),
    enqueued_at     timestamptz NOT NULL,
    offered_at      timestamptz,
    taken_at        timestamptz,
    connected_at    timestamptz,
    ended_at        timestamptz,
    outcome         text CHECK (outcome IN ('connected', 'completed', 'abandoned',
                                            'overflowed', 'failed')),
    note            text,
    -- Raised by every update: a node applies a notification only if it is newer.
    revision        integer NOT NULL DEFAULT 1,
    CHECK ((outcome IS NULL) = (ended_at IS NULL))
);

CREATE INDEX queue_calls_live_idx ON queue_calls (queue) WHERE ended_at IS NULL;
CREATE INDEX queue_calls_enqueued_at_idx ON queue_calls (enqueued_at, queue);
CREATE INDEX queue_calls_call_id_idx ON queue_calls (call_id);

-- How each queue distributes its calls and when it gives up on them. A queue without a row
-- uses the defaults below.
CREATE TABLE queue_config (
    queue                  text PRIMARY KEY CHECK (queue <> ''),
    distribution           text NOT NULL DEFAULT 'manual'
                           CHECK (distribution IN ('manual', 'longest_idle', 'ring_all')),
    -- Seconds an offer waits for the operator before it goes to the next one.
    ring_timeout           double precision NOT NULL DEFAULT 15 CHECK (ring_timeout > 0),
    -- Seconds a call may wait, and calls the queue may hold; NULL: no limit.
    max_wait               double precision CHECK (max_wait > 0),
    max_length             integer CHECK (max_length > 0),
    -- Past a limit: move the call to another queue, or answer it with a final status.
    overflow_queue         text CHECK (overflow_queue <> ''),
    overflow_status        integer NOT NULL DEFAULT 480 CHECK (overflow_status BETWEEN 400 AND 699),
    retry_after            integer CHECK (retry_after >= 0),
    -- The share of calls taken within this many seconds is the queue's service level.
    service_level_seconds  double precision NOT NULL DEFAULT 20 CHECK (service_level_seconds > 0),
    -- Seconds an operator stays in wrap-up after a call of this queue.
    wrap_up_seconds        double precision NOT NULL DEFAULT 0 CHECK (wrap_up_seconds >= 0),
    revision               integer NOT NULL DEFAULT 1,
    CHECK (overflow_queue IS DISTINCT FROM queue)
);

CREATE FUNCTION notify_queue_call_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('softswitch_queue', 'call:' || OLD.id || ':' || OLD.revision);
    ELSE
        PERFORM pg_notify('softswitch_queue', 'call:' || NEW.id || ':' || NEW.revision);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER queue_calls_notify AFTER INSERT OR UPDATE OR DELETE ON queue_calls
    FOR EACH ROW EXECUTE FUNCTION notify_queue_call_change();

CREATE FUNCTION notify_operator_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.login <> OLD.login) THEN
        PERFORM pg_notify('softswitch_queue', 'operator:' || OLD.login || ':' || OLD.revision);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('softswitch_queue', 'operator:' || NEW.login || ':' || NEW.revision);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER operators_notify AFTER INSERT OR UPDATE OR DELETE ON operators
    FOR EACH ROW EXECUTE FUNCTION notify_operator_change();

CREATE FUNCTION notify_queue_config_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.queue <> OLD.queue) THEN
        PERFORM pg_notify('softswitch_queue', 'config:' || OLD.queue || ':' || OLD.revision);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('softswitch_queue', 'config:' || NEW.queue || ':' || NEW.revision);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER queue_config_notify AFTER INSERT OR UPDATE OR DELETE ON queue_config
    FOR EACH ROW EXECUTE FUNCTION notify_queue_config_change();
