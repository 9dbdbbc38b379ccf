-- The blocking sequencer lb_sequence is gone: nothing called it, and waiting for the
-- writers' sequencing lock queues every new writer behind the wait. The numbering now
-- lives in one function, lb_number_pending (db/functions/), which lb_sequence_settled and
-- lb_seq_of share.
DROP FUNCTION IF EXISTS lb_sequence(text);
DELETE FROM lb_schema_function WHERE name = 'lb_sequence';
