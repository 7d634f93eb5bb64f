"""What an API process holds while serving: connections, pub/sub, cache, job events, queue."""
