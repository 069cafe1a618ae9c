"""The sandbox: a submission's exceptions, hangs, exits and prints cost only what they touch."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_namespaces
from grader.grading import GradeOptions, grade_submission
from grader.reporters import text
from grader.sandbox.isolation import Limits
from grader.sandbox.supervisor import JobRequest, Sandbox
from grader.wire import encode_array

ARG = {"kind": "tensor", "array": encode_array(np.arange(3.0), "float64"), "requires_grad": False}


def run(sandbox, source, functions, timeout=2.0, total=30.0):
    def plan_for(module):
        return [{"index": i, "function": name, "args": [ARG], "grad": False, "capture": []}
                for i, name in enumerate(functions) if module.functions[name].defined]

    request = JobRequest(source=source, filename="student.py", functions=tuple(functions), seed=1)
    return sandbox.run(request, plan_for, call_timeout=timeout, total_timeout=total)


def test_an_exception_is_observed_with_the_students_line(sandbox):
    record = run(sandbox, "def f(x):\n    y = 1\n    raise ValueError('bad input')\n", ["f"])
    outcome = record.calls[0]
    assert outcome.status == "raised"
    exc = outcome.report.exception
    assert (exc.type, exc.message, exc.line, exc.origin) == ("ValueError", "bad input", 3, "submission")


def test_a_hanging_call_times_out_and_the_next_call_still_runs(sandbox):
    source = "def hang(x):\n    while True:\n        pass\n\ndef ok(x):\n    return x * 2\n"
    record = run(sandbox, source, ["hang", "ok"], timeout=1.0)
    assert record.calls[0].status == "timeout"
    assert record.calls[1].status == "returned"
    assert list(record.calls[1].report.value.array) == [0.0, 2.0, 4.0]
    assert record.children == 2


def test_exit_at_import_stops_the_rest_of_the_file(sandbox):
    record = run(sandbox, "import sys\ndef g(x):\n    return x\nsys.exit(0)\ndef f(x):\n    return x\n", ["f", "g"])
    module = record.module
    assert module is not None and module.ok and module.stopped
    assert [(e.type, e.line) for e in module.errors] == [("SystemExit", 4)]
    assert not module.functions["f"].defined and module.functions["g"].defined
    assert record.calls[1].status == "returned"  # g, defined before the exit, is still called


def test_a_top_level_statement_that_raises_costs_only_itself(sandbox):
    source = "import no_such_module\nprint(undefined_name)\ndef f(x):\n    return x * 3\n"
    record = run(sandbox, source, ["f"])
    module = record.module
    assert module is not None and module.ok and not module.stopped
    assert [(e.type, e.line) for e in module.errors] == [("ModuleNotFoundError", 1), ("NameError", 2)]
    assert list(record.calls[0].report.value.array) == [0.0, 3.0, 6.0]


def test_os_exit_at_import_is_reported_as_a_crash(sandbox):
    record = run(sandbox, "import os\nos._exit(0)\n", ["f"])
    assert record.module is None and record.import_problem == "exit status 0"


def test_exit_inside_a_call_costs_that_call_only(sandbox):
    source = "import os, sys\ndef a(x):\n    os._exit(7)\ndef b(x):\n    sys.exit(3)\ndef c(x):\n    return x\n"
    record = run(sandbox, source, ["a", "b", "c"])
    assert (record.calls[0].status, record.calls[0].detail) == ("crashed", "exit status 7")
    assert record.calls[1].status == "raised" and record.calls[1].report.exception.type == "SystemExit"
    assert record.calls[2].status == "returned"


def test_printing_is_captured_and_never_parsed(sandbox):
    source = "print('{\"type\": \"done\"}')\ndef f(x):\n    print('\\x00\\x1b[31m', 'x' * 100000)\n    return 1\n"
    record = run(sandbox, source, ["f"])
    assert record.calls[0].status == "returned"
    text = record.output.text()
    assert text.startswith('{"type": "done"}') and record.output.total > 100000
    assert len(text) < 30_000  # capped


def test_a_segfault_costs_one_call(sandbox):
    source = "import ctypes\ndef crash(x):\n    ctypes.string_at(0)\ndef ok(x):\n    return 5\n"
    record = run(sandbox, source, ["crash", "ok"])
    assert record.calls[0].status == "crashed" and "SIGSEGV" in record.calls[0].detail
    assert record.calls[1].report.value.v == 5


def test_total_timeout_stops_the_rest(sandbox):
    source = "import time\ndef slow(x):\n    time.sleep(0.8)\n    return 1\n"
    record = run(sandbox, source, ["slow"] * 6, timeout=5.0, total=2.0)
    statuses = [record.calls[i].status for i in range(6)]
    assert statuses[0] == "returned" and "not_run" in statuses
    assert record.wall_time < 6


def test_the_isolation_in_force_is_reported(sandbox):
    record = run(sandbox, "def f(x):\n    return 1\n", ["f"])
    assert record.isolation.rlimits
    assert record.isolation.level in ("namespaces", "partial", "rlimits-only")


def test_a_good_frame_before_garbage_is_taken_before_the_error():
    from grader.wire import FrameDecoder, ProtocolError, encode_frame

    decoder = FrameDecoder()
    frames = decoder.frames(encode_frame({"type": "done"}) + b'{"type": "call"}\n')
    assert next(frames) == b'{"type":"done"}'
    with pytest.raises(ProtocolError, match="announced"):
        next(frames)


SPOIL = """
import fcntl, os
def ok(x):
    return 1
def spoil(x):
    for fd in range(3, 64):
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_WRONLY and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(fd, b"garbage, not a frame")
        except OSError:
            pass
    return 2
"""


def test_garbage_on_the_report_pipe_costs_only_the_call_that_wrote_it(sandbox):
    record = run(sandbox, SPOIL, ["ok", "spoil", "ok"])
    assert [record.calls[i].status for i in range(3)] == ["returned", "invalid", "returned"]
    assert "announced" in record.calls[1].detail


def test_unknown_namespace_mode_is_refused():
    with pytest.raises(ValueError, match="auto, user, none"):
        Sandbox(namespaces="sometimes")


def test_unknown_warm_up_mode_is_refused():
    with pytest.raises(ValueError, match="first, soon, never"):
        Sandbox(warm_up="later")  # type: ignore[arg-type]


LAZY_IMPORTS = """
import sys
print("lazy:", sorted(m for m in ("sympy", "torch.fx.experimental.symbolic_shapes") if m in sys.modules))
"""


@pytest.mark.parametrize(("when", "warm"), [("first", True), ("never", False)])
def test_a_worker_that_warms_up_first_starts_even_its_first_child_warm(when, warm):
    # What the warm-up initialises (sympy and symbolic shapes, for explicit gradients) shows in the
    # child's modules: a service's first submission finds it done, a single `grade file.py` never
    # pays for it.
    with Sandbox(warm_up=when) as box:
        record = run(box, LAZY_IMPORTS, [])
    printed = record.output.text()
    assert ("lazy: ['sympy', 'torch.fx.experimental.symbolic_shapes']" in printed) is warm, printed
    assert ("lazy: []" in printed) is not warm, printed


def _children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if entry.isdigit() and int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.02)
    return False


def _spare_of(box: Sandbox, other_than: int | None = None) -> int:
    """The supervisor forked ahead, once the warm worker has forked it (it does so when idle)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spare = box.spare_pid()
        if spare is not None and spare != other_than and _children_of(spare):
            return spare
        time.sleep(0.02)
    raise AssertionError("no supervisor was forked ahead")


ECHO = "def f(x):\n    return x * 2\n"


def _echoes(record) -> bool:
    return record.calls[0].status == "returned" and record.module is not None and record.module.ok


@pytest.fixture(scope="module")
def warm_box():
    with Sandbox(warm_up="first") as box:
        yield box


def test_the_next_child_waits_ready_in_a_supervisor_forked_ahead_and_a_job_takes_it(warm_box):
    assert _echoes(run(warm_box, ECHO, ["f"]))
    first = _spare_of(warm_box)
    assert len(_children_of(first)) == 1  # its child, waiting for a job in its namespaces
    assert _echoes(run(warm_box, ECHO, ["f"]))
    assert _gone(first), "the job did not run on the supervisor forked ahead"
    assert _spare_of(warm_box, other_than=first) != first  # and the next one is forked


@pytest.mark.parametrize("victim", ["child", "supervisor"])
def test_a_supervisor_forked_ahead_that_died_waiting_costs_no_submission_anything(warm_box, victim):
    assert _echoes(run(warm_box, ECHO, ["f"]))
    spare = _spare_of(warm_box)
    target = _children_of(spare)[0] if victim == "child" else spare
    os.kill(target, signal.SIGKILL)
    assert _gone(target)
    record = run(warm_box, ECHO, ["f"])  # started again from scratch, as if nothing had been forked ahead
    assert _echoes(record) and not record.import_problem


def test_a_single_submission_forks_nothing_ahead():
    with Sandbox(warm_up="never") as box:
        assert _echoes(run(box, ECHO, ["f"]))
        time.sleep(0.5)  # time enough to fork one, were it to
        assert box.spare_pid() is None


def test_the_supervisor_forked_ahead_ends_with_the_warm_worker():
    with Sandbox(warm_up="first") as box:
        assert _echoes(run(box, ECHO, ["f"]))
        spare = _spare_of(box)
        waiting = _children_of(spare)
    assert _gone(spare) and all(_gone(pid) for pid in waiting)


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polling"])
def test_a_supervisor_waiting_for_its_job_notices_its_child_die_and_leaves_it_to_be_reaped(monkeypatch, pidfd):
    import socket

    from grader.sandbox.control import send_message
    from grader.sandbox.zygote import _wait_for_job

    if not pidfd:
        monkeypatch.delattr(os, "pidfd_open", raising=False)  # as on macOS
    ours, theirs = socket.socketpair()
    child = os.fork()
    if child == 0:
        os._exit(7)
    assert _wait_for_job(theirs, child) == (None, [])
    assert os.WEXITSTATUS(os.waitpid(child, 0)[1]) == 7  # not reaped by the look: its PID was never free for reuse
    waiting = os.fork()
    if waiting == 0:
        time.sleep(30)
        os._exit(0)
    try:
        read, write = os.pipe()
        send_message(ours, {"hide": ["/x"]}, [read])
        request, fds = _wait_for_job(theirs, waiting)
        assert request == {"hide": ["/x"]} and len(fds) == 1
        for fd in (read, write, *fds):
            os.close(fd)
    finally:
        os.kill(waiting, signal.SIGKILL)
        os.waitpid(waiting, 0)


@needs_namespaces
def test_each_mount_can_be_made_read_only_one_by_one(tmp_path):
    """The fallback of mount_setattr(2): a read-only remount of every mount point keeps its flags."""
    from grader.sandbox import linux as isolation

    status_file = tmp_path / "status"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            flags = isolation.CLONE_NEWNS | (0 if os.geteuid() == 0 else isolation.CLONE_NEWUSER)
            isolation.unshare(flags)
            isolation.mount("none", "/", None, isolation.MS_REC | isolation.MS_PRIVATE)
            isolation.remount_each_read_only()
            try:
                with open(str(status_file), "w"):
                    pass
            except OSError as exc:
                code = 0 if exc.errno == errno.EROFS else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "a write to a mount made read-only succeeded"
    assert not status_file.exists()


# -- weaker isolation: what the grader can still do, and that it says so ---------------------------
ADVERSARIAL = Path(__file__).resolve().parent / "adversarial"


@pytest.fixture(scope="module")
def sandbox_without_namespaces():
    """A warm worker that makes no namespace, as on a system that forbids them."""
    with Sandbox(namespaces="none") as box:
        yield box


@pytest.fixture(scope="module")
def sandbox_in_user_namespace():
    """A warm worker laid out as for an unprivileged grader: a user namespace, no user of its own."""
    with Sandbox(namespaces="user") as box:
        yield box


def _grade_file(box, builtin, name, tmp_path, tag):
    source = (ADVERSARIAL / name).read_text().replace('TAG = "adversarial-tag"', f'TAG = "{tag}"')
    path = tmp_path / name
    path.write_text(source)
    return grade_submission(path, builtin, box, GradeOptions(seed=3, call_timeout=2.0, total_timeout=60.0)).scorecard


def _running_with(tag):
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if tag.encode() in Path(f"/proc/{entry}/cmdline").read_bytes() and int(entry) != os.getpid():
                found.append(int(entry))
    return found


def test_without_namespaces_the_scorecard_says_so_and_escapees_still_die(sandbox_without_namespaces, builtin, tmp_path):
    tag = f"weak{secrets.token_hex(5)}"
    card = _grade_file(sandbox_without_namespaces, builtin, "setsid_grandchild.py", tmp_path, tag)
    isolation = card.run.isolation
    assert isolation["level"] == "rlimits-only" and isolation["rlimits"]
    assert "network_namespace" in isolation["missing"]
    report = text.render(card)
    assert "Isolation was weaker than full" in report and "network not isolated" in report
    assert {e.id: e.score for e in card.exercises}["double-backward"] == 10
    deadline = time.monotonic() + 5
    while _running_with(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running_with(tag) == [], "a setsid grandchild outlived its submission"


def test_without_namespaces_comparisons_still_happen_in_the_grader(sandbox_without_namespaces, builtin, tmp_path):
    card = _grade_file(sandbox_without_namespaces, builtin, "monkeypatch_comparisons.py", tmp_path, "unused")
    checks = {f"{e.id}/{c.id}": c for e in card.exercises for c in e.checks}
    assert checks["second-derivative-cost/values"].score == 0 and checks["custom-control-flow/gradient-agrees"].score == 0
    assert {e.id: e.score for e in card.exercises}["double-backward"] == 10


@needs_namespaces
def test_in_a_user_namespace_the_child_cannot_undo_its_mounts(sandbox_in_user_namespace, builtin, tmp_path):
    tag = f"userns{secrets.token_hex(5)}"
    forged = Path(f"/run/lock/results-{tag}.json")
    try:
        card = _grade_file(sandbox_in_user_namespace, builtin, "escape_mounts.py", tmp_path, tag)
    finally:
        written = forged.exists()
        forged.unlink(missing_ok=True)  # only if the defence failed; never leave it behind
    assert not written
    isolation = card.run.isolation
    assert isolation["level"] == "namespaces" and isolation["read_only"] and not isolation["separate_user"]
    output = card.run.output
    assert "umount /" in output and "remount / writable" in output  # it tried
    assert re.findall(r"^(?:umount|remount) .* ok$", output, re.MULTILINE) == []
    assert "stole" not in output and "wrote /run/lock" not in output
    assert {e.id: e.score for e in card.exercises}["double-backward"] == 10


SCRATCH = """
import os, tempfile

def f(x):
    path = os.path.join(tempfile.gettempdir(), "scratch.txt")
    open(path, "w").write("ok")
    try:
        listing = sorted(os.listdir("/tmp"))
    except OSError:
        listing = None  # an allow-list that keeps the shared /tmp out of reach altogether
    return [path, listing]
"""


def test_a_grader_living_under_tmp_still_gives_the_child_a_private_tmp(tmp_path):
    """A CI checkout in /tmp: the child must still get a writable private /tmp and see the grader."""
    import json
    import shutil
    import subprocess
    import sys

    checkout = tmp_path / "checkout"
    shutil.copytree(Path(__file__).resolve().parent.parent / "grader", checkout / "grader",
                    ignore=shutil.ignore_patterns("__pycache__", "_exercises"))
    sentinel = Path("/tmp") / f"grader-sentinel-{secrets.token_hex(4)}"
    sentinel.write_text("the grader's machine")
    script = (
        "import json\n"
        "from grader.sandbox.supervisor import Sandbox, JobRequest\n"
        f"source = {SCRATCH!r}\n"
        "call = {'index': 0, 'function': 'f', 'args': [{'kind': 'value', 'value': 1}], 'grad': False, 'capture': []}\n"
        "with Sandbox() as box:\n"
        "    record = box.run(JobRequest(source=source, filename='s.py', functions=('f',), seed=1), lambda module: [call], 5, 30)\n"
        "outcome = record.calls.get(0)\n"
        "print(json.dumps({'status': outcome.status if outcome else record.import_problem,\n"
        "                  'value': outcome.report.value.model_dump() if outcome and outcome.report else None,\n"
        "                  'level': record.isolation.level}))\n"
    )
    try:
        result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=180,
                                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(checkout), "HOME": str(tmp_path)})
    finally:
        sentinel.unlink()
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["status"] == "returned", found
    written, listing = found["value"]["items"]
    assert written["v"].startswith("/tmp/")
    if found["level"] == "namespaces":
        assert sentinel.name not in [item["v"] for item in listing["items"]]  # a /tmp of its own
    else:
        assert listing["t"] == "none"  # Landlock: the shared /tmp cannot even be listed


# -- resources per job, not per process -------------------------------------------------------------
MEMORY_ACROSS_PROCESSES = """
import os, time

def f(x):
    children = []
    for _ in range(6):
        pid = os.fork()
        if pid == 0:
            block = bytearray(300 << 20)
            for k in range(0, len(block), 4096):
                block[k] = 1  # touch every page: untouched pages cost nothing
            time.sleep(3)
            os._exit(0)
        children.append(pid)
    shared = os.memfd_create("hoard")  # shared memory: no process's own address space
    chunk = b"x" * (1 << 20)
    for _ in range(600):
        os.write(shared, chunk)
    for pid in children:
        os.waitpid(pid, 0)
    return 1
"""


@pytest.fixture(scope="module")
def sandbox_512():
    with Sandbox(Limits(memory_mb=512)) as box:
        yield box


def test_memory_is_limited_per_job_not_per_process(sandbox_512):
    probe = run(sandbox_512, "def f(x):\n    return 1\n", ["f"])
    if probe.isolation.job_cgroup:
        record = run(sandbox_512, MEMORY_ACROSS_PROCESSES, ["f"], timeout=30.0, total=60.0)
        # Six processes of 300 MB and 600 MB of shared memory: 2.4 GB asked, the job holds at most its limit.
        assert record.memory_peak_kb is not None and record.memory_peak_kb <= (512 + 16) << 10, record.memory_peak_kb
        # However it was stopped (the kernel killed a process, or an allocation or fork failed), the
        # 2.4 GB were never held: the call did not complete.
        outcome = record.calls[0]
        assert outcome.status in ("crashed", "raised"), outcome
        assert record.out_of_memory or outcome.report.exception.type in ("MemoryError", "OSError", "BlockingIOError")
    else:
        record = probe  # without a cgroup the hoard would really take 2.4 GB of this machine: not run
        assert "job_cgroup" in record.isolation.missing()  # the weaker limit is said, not hidden
        assert any(note.startswith("cgroups:") for note in record.isolation.notes)


def test_a_job_signalling_its_process_group_reaches_nothing_of_the_graders(sandbox):
    source = "import os, signal\nos.kill(0, signal.SIGKILL)\n"
    record = run(sandbox, source, ["f"])
    # It kills itself where it is an ordinary process; as PID 1 of its own namespace the kernel
    # does not let its own signal end it. Either way the grader's processes were not in its group.
    assert (record.module is None and record.import_problem == "killed by SIGKILL") or record.isolation.pid_namespace
    after = run(sandbox, "def f(x):\n    return 7\n", ["f"])  # the warm worker still serves
    assert after.calls[0].report.value.v == 7


def test_an_endless_loop_costs_one_timeout_and_no_other_exercise(sandbox, builtin, tmp_path):
    from conftest import EXAMPLES

    source = (EXAMPLES / "solution.py").read_text().replace("def grad_f(a):\n", "def grad_f(a):\n    while True:\n        pass\n", 1)
    path = tmp_path / "loops.py"
    path.write_text(source)
    started = time.monotonic()
    card = grade_submission(path, builtin, sandbox, GradeOptions(seed=5)).scorecard  # default timeouts: 5 s, 120 s
    assert time.monotonic() - started < 30
    scores = {e.id: e.score for e in card.exercises}
    assert scores.pop("vector-control-flow") < 10
    assert all(score == 10 for score in scores.values()), scores
    gradient = {c.id: c for e in card.exercises for c in e.checks}["gradient"]
    assert gradient.status == "error"


def test_watching_a_call_imports_nothing_heavy_in_the_child(sandbox):
    """The dispatch-level watch must not pull in torch._dynamo (1.8 s in every fresh child)."""
    source = ("import sys, torch\n"
              "BEFORE = 'torch._dynamo' in sys.modules\n"
              "def f(x):\n"
              "    x = x.detach().clone().requires_grad_(True)\n"
              "    (x * x).sum().backward()\n"
              "    return BEFORE or 'torch._dynamo' not in sys.modules\n")
    request = JobRequest(source=source, filename="student.py", functions=("f",), seed=1, watch=("torch.cos",))
    plan = [{"index": 0, "exercise": "e", "function": "f", "args": [ARG], "grad": False, "capture": []}]
    record = sandbox.run(request, lambda module: plan, call_timeout=5.0, total_timeout=30.0)
    # Loaded already by the warm worker (its warm-up may), or not loaded by the call: never paid per child.
    assert record.calls[0].report.value.v is True


def test_the_grader_is_out_of_the_submissions_reach(sandbox):
    """Its modules cannot be imported, nor its files read: the recorder and the exercises stay the grader's."""
    import grader.sandbox.instrument as instrument

    source = ("import os\n"
              "def f(x):\n"
              "    try:\n"
              "        import grader.sandbox.instrument\n"
              "        imported = 'imported'\n"
              "    except ImportError as error:\n"
              "        imported = type(error).__name__\n"
              f"    try:\n"
              f"        open({instrument.__file__!r}).read()\n"
              "        read = 'read'\n"
              "    except OSError as error:\n"
              "        read = error.strerror\n"
              "    return [imported, read]\n")
    record = run(sandbox, source, ["f"])
    imported, read = (item.v for item in record.calls[0].report.value.items)
    assert imported == "ModuleNotFoundError"
    # Covered by an empty mount where the child has a mount namespace, refused by Landlock elsewhere.
    expected = "No such file or directory" if record.isolation.mount_namespace else "Permission denied"
    assert read == expected or not (record.isolation.file_allow_list or record.isolation.mount_namespace)


def test_no_copy_of_the_exercises_on_the_import_path_is_readable(sandbox):
    """An editable install keeps the built-in exercises, answers included, in site-packages/grader/_exercises."""
    from grader.sandbox.linux import package_copies

    copies = package_copies()
    answers = [str(path) for copy in copies for path in sorted(Path(copy).rglob("*.py"))[:20]]
    assert answers, copies
    source = ("def f(x):\n"
              "    seen = []\n"
              f"    for path in {answers!r}:\n"
              "        try:\n"
              "            open(path).read(1)\n"
              "            seen.append(path)\n"
              "        except OSError:\n"
              "            pass\n"
              "    return seen\n")
    record = run(sandbox, source, ["f"])
    assert record.calls[0].status == "returned", record.calls[0]
    if record.isolation.file_allow_list or record.isolation.mount_namespace:
        assert [item.v for item in record.calls[0].report.value.items] == []


def test_a_lone_surrogate_costs_at_most_the_string_it_is_in(sandbox):
    source = ('WHY = "because \\ud800"\n'
              'def f(x):\n'
              '    print("printed \\udcff")\n'
              '    return ["kept", "bad \\ud83d"]\n'
              'def g(x):\n'
              '    raise ValueError("message \\ud800")\n')
    request = JobRequest(source=source, filename="student.py", functions=("f", "g"), attributes=("WHY",), seed=1)
    plan = [{"index": i, "exercise": "e", "function": name, "args": [ARG], "grad": False, "capture": []}
            for i, name in enumerate(("f", "g"))]
    record = sandbox.run(request, lambda module: plan, call_timeout=5.0, total_timeout=30.0)
    assert record.module is not None and record.module.attributes["WHY"].v == "because \ufffd"
    assert [item.v for item in record.calls[0].report.value.items] == ["kept", "bad \ufffd"]
    assert record.calls[1].report.exception.message == "message \ufffd"
