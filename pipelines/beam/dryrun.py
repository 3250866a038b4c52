"""What a Dataflow dry run (--runner=DataflowRunner --dry_run=True) built: the job it would submit, read offline.

Beam's DataflowRunner translates the whole pipeline on a dry run and returns a bare PipelineResult carrying the
job, with no metrics, state or job id (reading its metrics raises NotImplementedError). The job holds the
translated pipeline, the files it would stage for the workers, and the options; this module reads them.
"""

from __future__ import annotations

from typing import Any

from apache_beam.options.value_provider import ValueProvider
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2

_STAGING_TO = common_urns.artifact_roles.STAGING_TO.urn


def dry_run_job(result: Any) -> dict[str, Any] | None:
    """The job a dry run built, or None for a result of a pipeline that ran (or was submitted).

    steps: the pipeline's top-level transforms in order; leaf_steps: how many primitive transforms they
    translate to; staged: the files the workers would get (workflow.tar.gz is the --setup_file's package);
    worker_options: the options the workers receive, as Beam's Dataflow client sends them (every option that
    is set, sitrep's own included)."""
    job = getattr(result, "job", None)
    if job is None or getattr(job, "proto_pipeline", None) is None:
        return None
    pipeline = job.proto_pipeline
    transforms = pipeline.components.transforms
    top = [step for root in pipeline.root_transform_ids for step in (transforms[root].subtransforms or [root])]
    staged = sorted({
        beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(dep.role_payload).staged_name
        for env in pipeline.components.environments.values() for dep in env.dependencies
        if dep.role_urn == _STAGING_TO
    })
    return {
        "job_name": job.proto.name,
        "job_type": getattr(job.proto.type, "name", str(job.proto.type)),
        "steps": [transforms[step].unique_name for step in top],
        "leaf_steps": sum(1 for t in transforms.values() if not t.subtransforms),
        "staged": staged,
        "worker_options": worker_options(job.options),
    }


def worker_options(options: Any) -> dict[str, Any]:
    """The options as the Dataflow client passes them to the workers: every option set (unknown ones kept),
    a template's value provider as its value where it has one."""
    passed = {}
    for name, value in options.get_all_options(retain_unknown_options=True).items():
        if isinstance(value, ValueProvider):
            value = value.get() if value.is_accessible() else None
        if value is not None:
            passed[name] = value
    return passed


def describe_dry_run(command: str, run_id: str, job: dict[str, Any]) -> str:
    """The dry run's job in a few lines: what was built, what the workers would get."""
    options = job["worker_options"]
    where = " ".join(f"{k}={options[k]}" for k in ("project", "region", "temp_location") if options.get(k))
    sitrep_keys = ("feeds", "input", "sample", "out", "state", "pubsub_topic", "run_id", "setup_file")
    sitrep = " ".join(f"{k}={options[k]}" for k in sitrep_keys if options.get(k) not in (None, False))
    return "\n".join([
        f"sitrep {command} {run_id}: Dataflow dry run, nothing submitted: {job['job_type']} job {job['job_name']}",
        f"  where     {where}",
        f"  steps     {len(job['steps'])} ({job['leaf_steps']} leaf steps): {', '.join(job['steps'])}",
        f"  staged    {', '.join(job['staged']) or 'nothing'}",
        f"  options   {len(options)} reach the workers, among them: {sitrep}",
    ])
