-- The operator's own note on a call, typed in the console's history. It belongs to the call's
-- record but is kept in a table of its own, matched by Call-ID: the note is often written while
-- the call is still up (its record is written when it ends) and may be edited later, while
-- call records are only ever appended.

CREATE TABLE cdr_notes (
    call_id     text PRIMARY KEY,
    operator    text NOT NULL,
    note        text NOT NULL CHECK (length(note) BETWEEN 1 AND 1000),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX cdrs_call_id_idx ON cdrs (call_id);
