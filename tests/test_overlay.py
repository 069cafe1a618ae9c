"""The reference overlay survives whatever a student drew: huge, infinite or lonely points."""

from __future__ import annotations

import numpy as np

from grader.overlay import OverlayCurve, OverlayText, render_overlay

WORDS = OverlayText("title", ("expected",), ("yours",))


def test_a_curve_spanning_the_whole_float_range_is_drawn_around_the_expected_one():
    x = np.linspace(-3, 3, 50)
    drawn = [OverlayCurve(np.array([-1.7e308, 0.0, 1.7e308]), np.array([0.0, 1.0, np.inf]))]
    png = render_overlay(drawn, [OverlayCurve(x, np.sin(x))], [WORDS])
    assert png.startswith(b"\x89PNG")


def test_without_expected_curves_the_students_bulk_sets_the_window():
    drawn = [OverlayCurve(np.array([-1e300, *np.linspace(0, 1, 50), 1e300]), np.linspace(0, 1, 52))]
    png = render_overlay(drawn, [], [OverlayText("title", (), ("yours",))])
    assert png.startswith(b"\x89PNG")
