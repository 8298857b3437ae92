-- A peer exchange may authenticate its calls with digest credentials instead of (or besides)
-- being trusted by the source address of its trunk URIs. HA1s as for lines, never a password.

ALTER TABLE exchanges
    ADD COLUMN trunk_username   text UNIQUE CHECK (trunk_username ~ '^[A-Za-z][A-Za-z0-9._-]{0,63}$'),
    ADD COLUMN trunk_ha1_md5    text CHECK (trunk_ha1_md5 ~ '^[0-9a-f]{32}$'),
    ADD COLUMN trunk_ha1_sha256 text CHECK (trunk_ha1_sha256 ~ '^[0-9a-f]{64}$'),
    ADD CONSTRAINT exchanges_trunk_credentials_check CHECK (
        (trunk_username IS NULL) = (trunk_ha1_md5 IS NULL)
        AND (trunk_ha1_md5 IS NULL) = (trunk_ha1_sha256 IS NULL)
    );
