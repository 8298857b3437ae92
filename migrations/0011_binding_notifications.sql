-- Every node keeps the bindings in memory, so a phone registered through one node can be
-- called through any other: tell the listeners on channel softswitch_bindings (see
-- softswitch.store.listener) "<node> <line>" for each binding inserted, updated or deleted.
-- <node> is the writer's `softswitch.node` setting (each node's connections carry it; empty
-- for other writers, such as the command line), so that a node skips its own changes.
CREATE FUNCTION notify_binding_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    writer text := coalesce(current_setting('softswitch.node', true), '');
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('softswitch_bindings', writer || ' ' || OLD.line_number);
    ELSE
        PERFORM pg_notify('softswitch_bindings', writer || ' ' || NEW.line_number);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER bindings_notify AFTER INSERT OR UPDATE OR DELETE ON bindings
    FOR EACH ROW EXECUTE FUNCTION notify_binding_change();
