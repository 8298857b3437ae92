-- Exchanges, lines and the location service (registered contacts).
-- Applied by softswitch.store.migrate inside one transaction.

CREATE TABLE exchanges (
    code        text PRIMARY KEY
                CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name        text NOT NULL CHECK (name <> ''),
    prefix      text NOT NULL UNIQUE CHECK (prefix ~ '^[0-9]{1,15}$'),
    mode        text NOT NULL DEFAULT 'automated'
                CHECK (mode IN ('automated', 'manual')),
    -- SIP URIs of the peer that serves this exchange, tried in order;
    -- empty when this softswitch serves the exchange itself.
    trunk_uris  text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lines (
    number         text PRIMARY KEY CHECK (number ~ '^[0-9]{1,15}$'),
    exchange_code  text NOT NULL REFERENCES exchanges (code) ON UPDATE CASCADE,
    display_name   text,
    line_class     text NOT NULL DEFAULT 'residential'
                   CHECK (line_class ~ '^[a-z][a-z0-9_-]{0,31}$'),
    -- The label of the line's jack on the manual switchboard.
    jack_label     text,
    -- Digest HA1 = H(number ":" realm ":" password) per algorithm; never the password.
    -- NULL for a line without SIP credentials (for example one still on a manual board).
    ha1_md5        text CHECK (ha1_md5 ~ '^[0-9a-f]{32}$'),
    ha1_sha256     text CHECK (ha1_sha256 ~ '^[0-9a-f]{64}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((ha1_md5 IS NULL) = (ha1_sha256 IS NULL))
);

CREATE INDEX lines_exchange_code_idx ON lines (exchange_code);

CREATE TABLE bindings (
    line_number       text NOT NULL REFERENCES lines (number) ON DELETE CASCADE,
    contact           text NOT NULL CHECK (contact <> ''),
    expires_at        timestamptz NOT NULL,
    q                 real NOT NULL DEFAULT 1.0 CHECK (q >= 0 AND q <= 1),
    call_id           text NOT NULL,
    cseq              integer NOT NULL CHECK (cseq >= 0),
    source_transport  text NOT NULL
                      CHECK (source_transport IN ('udp', 'tcp', 'tls', 'sctp', 'ws', 'wss')),
    source_host       text NOT NULL,
    source_port       integer NOT NULL CHECK (source_port BETWEEN 0 AND 65535),
    -- The local port of the listener the REGISTER arrived on.
    local_port        integer NOT NULL CHECK (local_port BETWEEN 0 AND 65535),
    instance_id       text,
    reg_id            integer,
    user_agent        text,
    path              text[] NOT NULL DEFAULT '{}',
    -- The node that received the registration and holds the flow to the phone.
    node              text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (line_number, contact)
);

CREATE INDEX bindings_expires_at_idx ON bindings (expires_at);
