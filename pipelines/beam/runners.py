"""Which engine a DirectRunner run uses: chosen here, not by Beam's switching DirectRunner.

Beam's DirectRunner (its SwitchingDirectRunner) first tries the Prism runner for any pipeline Prism supports:
it downloads a Go binary from github.com on first use and runs the pipeline on that other engine. Offline
(these machines, many CI runners, locked-down clusters) each run then makes a failed DNS look-up and HTTP
attempt to an outside address, spends CPU on it and leaves a job-service gRPC server thread behind
before falling back; online, the same command runs on another engine than the one the tests cover. A local
run of sitrep must not reach outside the machine, so a DirectRunner run goes straight to the engine the
switching runner falls back to for both of sitrep's pipelines (no Pub/Sub read or write transform in them
when they run locally): the FnApiRunner, honouring --direct_running_mode and --direct_num_workers. This is
what Beam itself advises when its Prism default gets in the way (apache/beam#34612: "pin to the FnApiRunner
instead of the DirectRunner"). Prism stays one flag away: --runner=PrismRunner. Every other runner
(Dataflow, Dask, PortableRunner, ...) is Beam's to create.
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineRunner

# The names --runner may give Beam's switching DirectRunner (Beam matches them case-insensitively).
_DIRECT = {"direct", "directrunner", "switchingdirectrunner", "apache_beam.runners.direct.direct_runner.directrunner",
           "apache_beam.runners.direct.direct_runner.switchingdirectrunner"}


def is_direct(options: PipelineOptions) -> bool:
    """Whether these options run on Beam's DirectRunner (its default when --runner is not given)."""
    runner = options.view_as(StandardOptions).runner
    return runner is None or (isinstance(runner, str) and runner.strip().lower() in _DIRECT)


def local_runner(options: PipelineOptions) -> PipelineRunner | None:
    """The runner to give beam.Pipeline for these options: the FnApiRunner, built as the switching DirectRunner
    builds it, when the options name the DirectRunner; else None (Beam creates the runner the options name)."""
    if not is_direct(options):
        return None
    # The pipeline's options reach the SDK workers (their own processes with
    # --direct_running_mode=multi_processing) through the provision info.
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
    return fn_runner.FnApiRunner(provision_info=provision)
