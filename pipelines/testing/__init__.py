"""Real parts for tests and benchmarks, never used by the pipeline: a fault-injecting HTTP server on
127.0.0.1 (localserver) and the Pub/Sub emulator as a process (pubsub)."""
