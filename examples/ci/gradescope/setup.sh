#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 base).
# The zip holds this file, run_autograder, and the grader as a wheel built with
#   python -m pip wheel --no-deps . -w dist
# (optionally also an exercises/ directory of your own specs; see run_autograder).
set -euo pipefail

apt-get update
apt-get install -y --no-install-recommends python3.11 python3.11-venv
python3.11 -m venv /opt/autograd-grader
/opt/autograd-grader/bin/python -m pip install --upgrade pip
# The CPU build of torch from PyTorch's own index: from PyPI, pip would fetch the multi-gigabyte CUDA build.
/opt/autograd-grader/bin/python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/opt/autograd-grader/bin/python -m pip install /autograder/source/autograd_grader-*.whl
/opt/autograd-grader/bin/grade --version
