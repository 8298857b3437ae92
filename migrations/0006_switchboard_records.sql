-- Call records of the switchboard: a caller who hung up while waiting for an operator, a call an
-- operator connected, and how long the caller waited in the queue.

ALTER TABLE cdrs DROP CONSTRAINT cdrs_disposition_check;
ALTER TABLE cdrs ADD CONSTRAINT cdrs_disposition_check CHECK (disposition IN (
    'answered', 'busy', 'no answer', 'rejected', 'failed', 'cancelled',
    'abandoned in queue', 'connected by operator'
));
ALTER TABLE cdrs ADD COLUMN queue_wait_seconds double precision
    CHECK (queue_wait_seconds IS NULL OR queue_wait_seconds >= 0);
