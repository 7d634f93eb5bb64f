"""Jobs (shared): records, kinds, the state machine, schemas, the async repository."""
