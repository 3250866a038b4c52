"""Flex Template entry point: build the sitrep batch run (or, with SITREP_JOB=stream, the streaming job) from
the template's parameters and submit it."""

import logging
import os
import sys

from pipelines.beam.batch import run
from pipelines.beam.streaming import run_stream

if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)
    # A template launcher must return once the job is submitted (Dataflow's rule): the batch job itself
    # publishes its state when its sinks have committed, and the streaming job runs until drained.
    if os.environ.get("SITREP_JOB", "batch") == "stream":
        run_stream(sys.argv[1:], wait=False)
    else:
        run(sys.argv[1:], wait=False)
