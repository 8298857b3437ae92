-- One notification per statement, not one per row: the registrar's group commit writes many
-- lines' bindings in one statement, and every node, the writer among them, hears each
-- notification. The payload is "<node> <line>,<line>,...": the lines whose bindings the
-- statement inserted, updated or deleted, each once, in as many notifications as keep each
-- under pg_notify's 8000 bytes. One line gives the payload 0011's trigger gave.
DROP TRIGGER bindings_notify ON bindings;
DROP FUNCTION notify_binding_change();

CREATE FUNCTION notify_bindings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    writer text := coalesce(current_setting('softswitch.node', true), '');
    lines text := '';
    line text;
BEGIN
    FOR line IN SELECT DISTINCT line_number FROM changed LOOP
        IF lines <> ''
           AND octet_length(writer) + octet_length(lines) + octet_length(line) + 2 > 7999 THEN
            PERFORM pg_notify('softswitch_bindings', writer || ' ' || lines);
            lines := '';
        END IF;
        lines := CASE WHEN lines = '' THEN line ELSE lines || ',' || line END;
    END LOOP;
    IF lines <> '' THEN
        PERFORM pg_notify('softswitch_bindings', writer || ' ' || lines);
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with a transition table takes one event: three triggers, one function.
CREATE TRIGGER bindings_inserted AFTER INSERT ON bindings
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION notify_bindings_changed();
CREATE TRIGGER bindings_updated AFTER UPDATE ON bindings
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION notify_bindings_changed();
CREATE TRIGGER bindings_deleted AFTER DELETE ON bindings
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION notify_bindings_changed();
