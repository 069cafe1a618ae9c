"""The functions Dask runs on workers: grade one job, import reference code, answer a probe.

What travels is plain data built by the grader: a job is a dict of the submission's bytes, its
names and the grading options; a result is the scorecard's JSON form (`model_dump(mode="json")`)
and the bytes of the figures asked for. Nothing that came out of a student's process is pickled:
the scorecard was built by the judge in this (trusted) process from validated observations.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from grader.cluster import PLUGIN_NAME
from grader.cluster.bundle import ExerciseBundle

if TYPE_CHECKING:
    from grader.cluster.plugin import GraderPlugin
    from grader.grading import Graded

_install_lock = threading.Lock()

def worker_plugin() -> GraderPlugin:
    """This Dask worker's grader plugin, set up here on first use when the worker was started without it.

    `grader worker` starts it with the worker (warm before the first task); a plain `dask worker`
    with the grader installed gets it from its first task, which then waits for the warm-up.
    """
    from distributed import get_worker

    from grader.cluster.plugin import GraderPlugin

    worker = get_worker()
    plugin = worker.plugins.get(PLUGIN_NAME)
    if plugin is None:
        with _install_lock:
            plugin = worker.plugins.get(PLUGIN_NAME)
            if plugin is None:
                plugin = GraderPlugin()
                plugin.setup(worker)
                # Registered where Dask looks at teardown, so it is closed with the worker.
                worker.plugins[PLUGIN_NAME] = plugin
    return plugin


def safe_file_name(name: str) -> str:
    """`name` when it is a plain file name (as the client's file was called), else `submission` with its suffix."""
    suffix = ".ipynb" if name.endswith(".ipynb") else ".py"
    plain = (name and "/" not in name and "\\" not in name and "\x00" not in name and name not in (".", "..")
             and PurePosixPath(name).name == name and name.endswith(suffix) and len(name.encode("utf-8")) <= 200)
    return name if plain else "submission" + suffix


def grade_job(bundle: ExerciseBundle, job: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission on this worker's warm Sandbox; returns plain data (see the module docstring).

    `job`: `name` (the file name to grade it under: the child's module name and tracebacks come
    from it), `display`, `source` (bytes), `exercises` (ids, in order; empty: all), `options`
    (GradeOptions fields), `figures` (one of grading.FIGURE_CHOICES), `plain` (also the overlays' curves as
    data, for the service's result page). The result is `{"scorecard", "attachments", "plain",
    "worker", "pid", "seconds"}`, or `{"reference_failure": message}` when the exercise's reference
    code is broken (not the submission's fault: the batch stops, as locally).
    """
    from grader.checks.base import ReferenceFailure
    from grader.grading import GradeOptions, grade_submission, plain_attachments
    from grader.spec.loader import SpecError

    started = time.perf_counter()
    plugin = worker_plugin()
    try:
        exercises = _select(plugin.exercises(bundle), tuple(job.get("exercises", ())))
    except SpecError as exc:
        return {"reference_failure": f"the exercises do not load on worker {_address()}:\n{exc}"}
    raw = dict(job["options"])
    options = GradeOptions(**{**raw, "hide": tuple(raw.get("hide", ())) + plugin.hidden})
    directory = plugin.job_directory()
    try:
        path = directory / safe_file_name(str(job["name"]))
        path.write_bytes(job["source"])
        graded = None
        for attempt in range(2):
            sandbox, generation = plugin.sandbox()
            graded = grade_submission(path, exercises, sandbox, options, str(job["display"]))
            # The warm worker dying under a submission makes a grader error of it; that is the
            # machine's fault, not the submission's: start a new warm worker and grade it once more.
            if graded.scorecard.internal_error is None or attempt or plugin.alive(generation):
                break
            plugin.restart(generation, f"it died while grading {job['display']}")
    except ReferenceFailure as exc:
        return {"reference_failure": str(exc)}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert graded is not None
    plain = plain_attachments(graded, options.lang) if job.get("plain") else []
    return {"scorecard": graded.scorecard.model_dump(mode="json"),
            "attachments": rendered_attachments(graded, str(job.get("figures", "none")), options.lang),
            "plain": [{"exercise": e, "check": c, "kind": k, "name": n, "data": d} for e, c, k, n, d in plain],
            "worker": _address(), "pid": os.getpid(), "seconds": time.perf_counter() - started}


def _select(exercises: list[Any], wanted: tuple[str, ...]) -> list[Any]:
    """The exercises with these ids, in the order asked for (as `grade -e B -e A`); all when none is asked for."""
    if not wanted:
        return list(exercises)
    by_id = {e.spec.id: e for e in exercises}
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise ValueError(f"exercises not in the set the worker received: {', '.join(missing)}")
    return [by_id[w] for w in wanted]


def rendered_attachments(graded: Graded, figures: str, lang: str) -> list[dict[str, Any]]:
    """The attachments a job asked for, rendered to bytes here (in `lang`), with their descriptions as JSON data."""
    from grader.grading import kept_attachments
    from grader.scorecard import Artifact

    found = []
    for exercise, check, attachment in kept_attachments(graded, figures):
        description = Artifact(kind=attachment.kind, path="", description=attachment.description)
        found.append({"exercise": exercise, "check": check, "kind": attachment.kind, "name": attachment.name,
                      "description": description.model_dump(mode="json")["description"],
                      "data": attachment.content(lang)})  # type: ignore[arg-type]
    return found


def load_references(bundle: ExerciseBundle, modules: dict[str, str]) -> dict[str, Any]:
    """Import reference files of `bundle` (key -> path relative to the bundle) in this worker's reference worker.

    The answer of `ReferenceWorker.load`, keyed as asked, and `root`: where the bundle was
    unpacked here, so that the client can name its own files in messages instead.
    """
    plugin = worker_plugin()
    root = plugin.exercise_root(bundle)
    sandbox, _ = plugin.sandbox()
    reply = sandbox.references.load({key: root.joinpath(*PurePosixPath(rel).parts) for key, rel in modules.items()})
    return {**reply, "root": str(root)}


def reference_request(request: dict[str, Any]) -> dict[str, Any]:
    """One request to this worker's reference worker that names no file (`resolve`, `inputs`): its answer."""
    sandbox, _ = worker_plugin().sandbox()
    return sandbox.references.request(request)


def describe_worker() -> dict[str, Any]:
    """What a client shows and checks about this worker: grader version, isolation of its warm worker, threads."""
    from grader import __version__

    plugin = worker_plugin()
    sandbox, _ = plugin.sandbox()
    sandbox.wait_ready()
    return {"version": __version__, "isolation": sandbox.isolation.to_dict(), "worker": _address(), "pid": os.getpid(),
            "restarts": plugin.restarts}


def echo(value: Any) -> Any:
    """Return the argument: the tiny task that measures the scheduler's own cost per task."""
    return value


def _address() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:
        return f"pid {os.getpid()}"

