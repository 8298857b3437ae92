-- Dialplan versions with one active version, exchange change notifications, call records.

-- Every dialplan ever applied, as the files it was made of ({file name: text}).
CREATE TABLE dialplan_versions (
    version     serial PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    comment     text,
    sources     jsonb NOT NULL CHECK (jsonb_typeof(sources) = 'object'),
    -- sha256 of the files (softswitch.store.dialplans.checksum), to tell identical plans apart.
    checksum    text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$')
);

-- The version every node routes with: exactly one row, switched by one UPDATE.
CREATE TABLE dialplan_active (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version       integer REFERENCES dialplan_versions (version),
    activated_at  timestamptz
);

INSERT INTO dialplan_active (only_row, version) VALUES (true, NULL);

-- Nodes keep the compiled dialplan in memory: tell the listeners on channel
-- softswitch_dialplan the version that has just become active.
CREATE FUNCTION notify_dialplan_activated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version IS NOT NULL THEN
        PERFORM pg_notify('softswitch_dialplan', NEW.version::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER dialplan_active_notify AFTER UPDATE OF version ON dialplan_active
    FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM OLD.version)
    EXECUTE FUNCTION notify_dialplan_activated();

-- Nodes keep exchanges (trunks, mode, prefixes) in memory for routing: tell the listeners on
-- channel softswitch_exchanges the code of each exchange inserted, updated or deleted.
CREATE FUNCTION notify_exchange_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('softswitch_exchanges', OLD.code);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.code <> OLD.code) THEN
        PERFORM pg_notify('softswitch_exchanges', NEW.code);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER exchanges_notify AFTER INSERT OR UPDATE OR DELETE ON exchanges
    FOR EACH ROW EXECUTE FUNCTION notify_exchange_change();

-- One row per call attempt (a call detail record).
CREATE TABLE cdrs (
    id                bigserial PRIMARY KEY,
    call_id           text NOT NULL,
    -- A line number, or trunk:CODE for a call that came in over a trunk.
    caller            text NOT NULL,
    -- The digits as dialed, and the number after normalization and rewrites.
    dialed            text NOT NULL,
    number            text NOT NULL,
    -- The dialplan rule that decided, and where it sent the call.
    rule              text,
    route             text NOT NULL,
    started_at        timestamptz NOT NULL,
    answered_at       timestamptz,
    -- NULL for an answered call whose end was not seen (the node stopped, or no BYE came).
    ended_at          timestamptz,
    duration_seconds  double precision CHECK (duration_seconds >= 0),
    disposition       text NOT NULL CONSTRAINT cdrs_disposition_check
                      CHECK (disposition IN ('answered', 'busy', 'no answer', 'rejected',
                                             'failed', 'cancelled')),
    -- The final SIP status the caller got, and its reason phrase.
    status            integer CHECK (status BETWEEN 100 AND 699),
    reason            text,
    -- The node that carried the call.
    node              text NOT NULL,
    note              text,
    -- Who hung up an answered call: caller or callee.
    ended_by          text
);

CREATE INDEX cdrs_started_at_idx ON cdrs (started_at);
CREATE INDEX cdrs_caller_idx ON cdrs (caller, started_at);
CREATE INDEX cdrs_number_idx ON cdrs (number, started_at);
