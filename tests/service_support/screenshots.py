"""The README's pictures: screenshots of the reader's result page and the instructor's dashboard, made in a real browser.

Starts `grader serve` on a fresh database, grades a few example submissions for a small class,
signs in as an instructor and saves PNGs with headless Chromium (the same browser as the tests):

    python tests/service_support/screenshots.py docs/screenshots
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from service_support.browser import chrome  # noqa: E402
from service_support.server import ROOT, Server, token  # noqa: E402

EXAMPLES = ROOT / "submissions_example"
CLASS = [("ana", "solution.py"), ("ben", "mistake_graph_size_skips_accumulate_grad.py"),
         ("chen", "mistake_plot_wrong_curve.py"), ("dana", "mistake_nonscalar_backward.py"),
         ("eli", "mistake_gradient_accumulates_between_calls.py"), ("fay", "mistake_cosine.py"),
         ("gus", "mistake_graph_size_skips_accumulate_grad.py"), ("hui", "solution_notebook.ipynb")]
"""A small class: who submitted which example file."""
SHOWN = ["second-derivative-cost", "sin-derivative-plot"]
"""The exercises of the pictured result: the graph sizes, a hint, the figure and its overlay, on one screen or two."""


def shot(driver, path: Path, width: int, height: int) -> None:
    """A PNG of the top `height` pixels of the page at `width`."""
    driver.set_window_size(width, height)
    driver.save_screenshot(str(path))
    print(path)


def main(out: Path) -> None:
    """Grade the class, then take the pictures into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        server = Server(Path(tmp), "--jobs", "2", "--rate", "0").start()
        driver = None
        try:
            instructor = token(server.db, "instructor", "Prof. Li")
            pages = {}
            with server.client() as client:
                for student, name in CLASS:
                    source = (EXAMPLES / name).read_text(encoding="utf-8")
                    answer = client.post("/api/v1/submissions", params={"wait": 60},
                                         json={"filename": name, "source": source, "student": student, "seed": 1})
                    pages[student] = answer.json()["links"]["page"]
                answer = client.post("/api/v1/submissions", params={"wait": 60}, json={
                    "filename": "mistake_plot_wrong_curve.py", "exercises": SHOWN, "seed": 1,
                    "source": (EXAMPLES / "mistake_plot_wrong_curve.py").read_text(encoding="utf-8")})
                result = answer.json()["links"]["page"]
            driver = chrome()
            driver.get(server.url + result + "?lang=en")
            shot(driver, out / "result.png", 1100, 2300)
            driver.get(server.url + result + "?lang=zh")
            shot(driver, out / "result-zh-phone.png", 390, 1500)
            driver.get(server.url + "/?lang=en")
            shot(driver, out / "home.png", 1100, 1150)
            driver.get(server.url + "/instructor")
            driver.find_element("id", "token").send_keys(instructor + "\n")
            driver.get(server.url + "/instructor")
            assert re.search("class at a glance", driver.page_source, re.I)
            shot(driver, out / "dashboard.png", 1100, 1700)
            driver.get(server.url + "/instructor/submissions?failing=second-derivative-cost/graph-size&pick=latest")
            shot(driver, out / "dashboard-failing.png", 1100, 700)
        finally:
            if driver is not None:
                driver.quit()
            server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
