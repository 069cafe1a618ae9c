"""The sandbox: a submission's exceptions, hangs, exits and prints cost only what they touch."""

from __future__ import annotations

import numpy as np

from grader.sandbox.supervisor import JobRequest
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


def test_exit_at_import_is_an_import_failure(sandbox):
    record = run(sandbox, "import sys\nsys.exit(0)\ndef f(x):\n    return x\n", ["f"])
    assert record.module is not None and not record.module.ok
    assert record.module.exception.type == "SystemExit"
    assert record.calls == {}


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
