-- Every node keeps line credentials in memory: tell the listeners on channel softswitch_lines
-- (softswitch.store.listener) the number of each line inserted, updated or deleted.
CREATE FUNCTION notify_line_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('softswitch_lines', OLD.number);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.number <> OLD.number) THEN
        PERFORM pg_notify('softswitch_lines', NEW.number);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER lines_notify AFTER INSERT OR UPDATE OR DELETE ON lines
    FOR EACH ROW EXECUTE FUNCTION notify_line_change();
