"""Auto-grader for the PyTorch automatic-differentiation exercises of Dive into Deep Learning."""

__version__ = "0.1.0"
