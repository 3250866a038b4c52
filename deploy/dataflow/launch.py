"""Flex Template entry point: build the sitrep batch pipeline from the template's parameters and submit it."""

import logging
import sys

from pipelines.batch import run

if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)
    # A template launcher must return once the job is submitted (Dataflow's rule): the job itself publishes
    # its state and run summary when its sinks have committed.
    run(sys.argv[1:], wait=False)
