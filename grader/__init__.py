"""Auto-grader for the PyTorch automatic-differentiation exercises of Dive into Deep Learning."""

import os as _os

__version__ = "0.1.0"

if _os.environ.get("GRADER_PLATFORM"):
    # Another platform's path, forced to test it here: hide what that platform lacks first.
    from grader.sandbox.platform import emulate_from_environment as _emulate

    _emulate()
