"""The web pages in a real browser: headless Chromium (Debian's) driven by Selenium, against a real `grader serve`.

One server and one browser session serve the whole module. What a reader and an instructor do is
done as they do it: paste or upload an answer and read the scores, hints and figures on the page
(which waits for the result without reloading), switch the language, sign in, filter, click
through from a failing check to the submissions that fail it, all by keyboard too and on a
phone-sized window. Hostile submissions (markup in printed output, exception messages, file
names, student ids and explanations) must show as text and run nothing. Without JavaScript the
same things work with a form and a redirect (httpx). Every page visited is saved as a screenshot
under pytest's temporary directory (`screenshots/`).
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

import httpx
import pytest

from conftest import EXAMPLES
from service_support.browser import BrowserMissing, chrome, full_page_screenshot
from service_support.course import WRONG, write_course
from service_support.server import Server, token

SOLUTION = (EXAMPLES / "solution.py").read_text(encoding="utf-8")
GRAPH_MISTAKE = EXAMPLES / "mistake_graph_size_skips_accumulate_grad.py"
MARKER = "__pwned"
"""What each hostile payload would set in the page's JavaScript context if it ever ran."""
PAYLOADS = [
    f"<script>window.{MARKER}='script'</script>",
    f"<img src=x onerror=\"window.{MARKER}='img'\">",
    f"<svg onload=\"window.{MARKER}='svg'\"></svg>",
]
HOSTILE_TEXT = "".join(PAYLOADS)
HOSTILE_NAME = f"<img src=x onerror=window.{MARKER}=1>.py"
HOSTILE_STUDENT = f"<script>window.{MARKER}='student'</script>"
HOSTILE_SOURCE = f"""
print({HOSTILE_TEXT!r})
WHY_SECOND_DERIVATIVE_COSTS_MORE = {HOSTILE_TEXT!r} + " because the graph of the first derivative is bigger" * 3


def second_derivative(f, x):
    raise ValueError({HOSTILE_TEXT!r})
"""
WAIT = 120


# -- fixtures ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One service for the module: two jobs, no rate limit (the whole module comes from one address)."""
    instance = Server(tmp_path_factory.mktemp("pages"), "--jobs", "2", "--rate", "0").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def http(server):
    """An HTTP client of the server that asks for pages, as a browser does."""
    with server.client(headers={"Accept": "text/html"}) as client:
        yield client


@pytest.fixture(scope="module")
def instructor_token(server):
    """An instructor's token (its name is hostile too: it is shown on every dashboard page)."""
    return token(server.db, "instructor", "Prof <b>Li</b>")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; a missing browser fails and says what to install."""
    try:
        driver = chrome()
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where each page's screenshot goes."""
    return tmp_path_factory.getbasetemp() / "screenshots"


@pytest.fixture(scope="module")
def graded(server):
    """Submissions graded through the API before the browser looks at them: the graph-size mistake, the hostile one."""
    with server.client() as client:
        out = {}
        for key, filename, source, student in [
            ("mistake", GRAPH_MISTAKE.name, GRAPH_MISTAKE.read_text(encoding="utf-8"), "bob"),
            ("hostile", HOSTILE_NAME, HOSTILE_SOURCE, HOSTILE_STUDENT),
            ("solution", "solution.py", SOLUTION, "alice"),
        ]:
            answer = client.post("/api/v1/submissions", params={"wait": 60},
                                 json={"filename": filename, "source": source, "student": student, "seed": 7})
            assert answer.status_code == 200 and answer.json()["status"] == "graded", answer.text
            out[key] = answer.json()
        return out


# -- helpers -------------------------------------------------------------------------------------------

def wait_for(driver, condition, timeout: float = WAIT):
    """Wait until `condition(driver)` is true (WebDriverWait), and return its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def browser_problems(driver) -> list[str]:
    """Errors the browser logged since the last call: CSP violations, failed loads, script errors."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def no_payload_ran(driver) -> None:
    """No hostile payload ran: no marker in the JavaScript context, no alert, no element made from submitted markup."""
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    assert driver.execute_script(f"return typeof window.{MARKER}") == "undefined"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is the check
    assert driver.find_elements(By.CSS_SELECTOR, "img[src=x], img[onerror], svg[onload]") == []
    scripts = driver.execute_script("return Array.from(document.scripts, s => s.getAttribute('src'))")
    assert all(src and src.startswith("/static/grader.js") for src in scripts), scripts


def form_fields(page: str) -> dict[str, str]:
    """The hidden fields of a page's form (the CSRF token)."""
    return dict(re.findall(r'<input type="hidden" name="([a-z]+)" value="([^"]*)"', page))


def sign_in(http_client: httpx.Client, token_text: str) -> httpx.Response:
    """Sign a client in through the form (the sign-in page's CSRF token, then the token)."""
    page = http_client.get("/instructor")
    fields = form_fields(page.text)
    return http_client.post("/instructor/sign-in", data={"csrf": fields["csrf"], "token": token_text,
                                                         "next": "/instructor"})


def press(driver, element) -> None:
    """Click an element as a reader does: scrolled into the middle of the window first."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def result_text(driver) -> str:
    """The text of the page's <main>."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "main").text


# -- the reader's page, in the browser -----------------------------------------------------------------

def test_pasting_the_solution_shows_full_marks_without_a_reload(server, browser, shots):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Check your autograd answers"
    full_page_screenshot(browser, shots / "home.png")
    # Pasted, as a reader pastes: the whole file at once into the text area.
    browser.execute_script("document.getElementById('code').value = arguments[0]", SOLUTION)
    browser.find_element(By.ID, "student").send_keys("carol")
    press(browser, browser.find_element(By.CSS_SELECTOR, "form.submit button[type=submit]"))
    wait_for(browser, lambda d: "/submissions/" in d.current_url)
    # A reload would lose this marker; the page must wait for the result in place.
    browser.execute_script("window.__stayed = true")
    total = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "h1 .total"))[0]
    assert total.text == "50/50 points"
    assert browser.execute_script("return window.__stayed") is True
    assert browser.find_elements(By.CSS_SELECTOR, "li.check.failed, li.check.error") == []
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.exercise")) == 5
    # The page's address is the permanent link the API gives.
    submission_id = browser.current_url.rsplit("/", 1)[-1].split("?")[0]
    with server.client() as client:
        assert client.get(f"/api/v1/submissions/{submission_id}").json()["links"]["page"] == f"/submissions/{submission_id}"
    full_page_screenshot(browser, shots / "result-solution.png")
    assert browser_problems(browser) == []


def test_an_uploaded_mistake_shows_its_points_hint_and_graph_sizes(server, browser, shots):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    browser.find_element(By.ID, "file").send_keys(str(GRAPH_MISTAKE))
    press(browser, browser.find_element(By.CSS_SELECTOR, "form.submit button[type=submit]"))
    total = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "h1 .total"))[0]
    assert total.text == "46/50 points"
    assert browser.find_element(By.CSS_SELECTOR, "h1 .file").text == GRAPH_MISTAKE.name
    failed = browser.find_elements(By.CSS_SELECTOR, "li.check.failed")
    assert [f.find_element(By.CSS_SELECTOR, "h3 .title").text for f in failed] == ["graph_size counts every node once"]
    check = failed[0]
    assert "0/4" in check.find_element(By.CSS_SELECTOR, "h3 .points").text
    assert "AccumulateGrad nodes" in check.find_element(By.CSS_SELECTOR, ".hint").text
    # Exercise 1's measured graph sizes: the student's and the expected count, per graph.
    rows = [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")]
            for row in check.find_elements(By.CSS_SELECTOR, "table.values tbody tr")]
    assert rows[0][0] == "a leaf x (no grad_fn)"
    assert len(rows) == 6 and any(r[3] == "differs" for r in rows)
    assert all(r[1].isdigit() and r[2].isdigit() for r in rows)
    full_page_screenshot(browser, shots / "result-mistake.png")
    assert browser_problems(browser) == []


def test_the_figure_is_shown_beside_the_overlay_of_the_expected_curves(server, browser, graded):
    from selenium.webdriver.common.by import By

    browser.get(server.url + graded["mistake"]["links"]["page"])
    figures = browser.find_element(By.CSS_SELECTOR, "li.check.passed .figures, li.check .figures")
    image = figures.find_element(By.CSS_SELECTOR, "img")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", image)  # it loads lazily
    wait_for(browser, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image), 30)
    overlay = figures.find_element(By.CSS_SELECTOR, "svg.overlay")
    assert len(overlay.find_elements(By.CSS_SELECTOR, "polyline.expected")) == 2
    assert len(overlay.find_elements(By.CSS_SELECTOR, "polyline.drawn")) >= 2
    assert overlay.get_attribute("role") == "img" and "sin(x)" in overlay.get_attribute("aria-label")
    # Its text equivalent: every curve, named.
    names = [c.text for c in figures.find_elements(By.CSS_SELECTOR, "table.curves tbody th")]
    assert "expected: sin(x)" in names and any(n.startswith("yours:") for n in names)


def test_a_notebook_traceback_names_the_cell_and_line(server, http):
    with server.client() as client:
        notebook = {"cells": [
            {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": "import torch\n"},
            {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
             "source": "def second_derivative(f, x):\n    y = f(x)\n    return y.missing_attribute\n"}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        answer = client.post("/api/v1/submissions", params={"wait": 60}, json={
            "filename": "answers.ipynb", "source": json.dumps(notebook), "exercises": ["second-derivative-cost"]})
        assert answer.json()["status"] == "graded", answer.text
    page = html.unescape(http.get(answer.json()["links"]["page"]).text)
    assert 'File "answers.ipynb", cell 2, line 3, in second_derivative' in page
    assert "return y.missing_attribute" in page


def test_the_language_follows_accept_language_and_the_switch(server, browser, http, graded):
    from selenium.webdriver.common.by import By

    chinese = http.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-Hans">' in chinese.text and "检查你的自动微分答案" in chinese.text
    assert '<html lang="en">' in http.get("/", headers={"Accept-Language": "en-GB,zh;q=0.3"}).text
    result = http.get(graded["mistake"]["links"]["page"], headers={"Accept-Language": "zh"}).text
    assert "46/50 分" in result and "AccumulateGrad 节点" in result and "不一致" in result
    # In the browser: Chinese from its Accept-Language, then back to English with the switch (remembered).
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Accept-Language": "zh-CN,zh;q=0.9"}})
    try:
        browser.get(server.url + graded["mistake"]["links"]["page"])
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
        assert "graph_size 对每个节点只计一次" in result_text(browser)
        press(browser, browser.find_element(By.CSS_SELECTOR, "nav.langs a[lang=en]"))
        wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
        assert "graph_size counts every node once" in result_text(browser)
        browser.get(server.url + "/")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Check your autograd answers"
        press(browser, browser.find_element(By.CSS_SELECTOR, "nav.langs a[lang=zh]"))
        wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "检查你的自动微分答案")
        browser.get(server.url + "/")
        assert browser.find_element(By.TAG_NAME, "h1").text == "检查你的自动微分答案"
    finally:
        browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
        browser.get(server.url + "/?lang=en")
    assert browser_problems(browser) == []


def test_hostile_content_is_shown_as_text_and_runs_nothing(server, browser, graded, instructor_token, shots):
    from selenium.webdriver.common.by import By

    browser.get(server.url + graded["hostile"]["links"]["page"])
    text = result_text(browser)
    no_payload_ran(browser)
    assert HOSTILE_NAME in browser.find_element(By.CSS_SELECTOR, "h1 .file").text  # the file name
    assert HOSTILE_STUDENT in text                                                # the student id
    assert browser.find_element(By.CSS_SELECTOR, "pre.output").text.strip() == HOSTILE_TEXT  # what it printed
    assert f"raised ValueError: {HOSTILE_TEXT}" in text                           # an exception's message
    assert f"{HOSTILE_TEXT} because" in browser.find_element(By.CSS_SELECTOR, "section.answers").text  # an explanation
    assert browser.title.startswith(f"Result of {HOSTILE_NAME}")
    full_page_screenshot(browser, shots / "result-hostile.png")
    # The instructor's pages show the same strings: the table, the gradebook, the signed-in name.
    sign_in_browser(browser, server, instructor_token)
    for path in ("/instructor/submissions", "/instructor/gradebook", "/instructor"):
        browser.get(server.url + path)
        no_payload_ran(browser)
        assert "Signed in as Prof <b>Li</b>" in result_text(browser)
        if path != "/instructor":
            assert HOSTILE_STUDENT in result_text(browser) and HOSTILE_NAME in result_text(browser)
    assert browser_problems(browser) == []


def sign_in_browser(browser, server, instructor_token) -> None:
    """Sign the browser in through the form, by keyboard (the token typed, then Enter)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server.url + "/instructor")
    if browser.find_elements(By.CSS_SELECTOR, "form.sign-in"):
        field = browser.find_element(By.ID, "token")
        field.send_keys(instructor_token, Keys.ENTER)
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".instructor-bar"))


def test_security_headers_on_every_page(server, http, graded):
    for path in ("/", graded["solution"]["links"]["page"], "/instructor", "/docs", "/api/v1/exercises", "/no-such-page"):
        answer = http.get(path)
        policy = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
        assert answer.headers.get("x-content-type-options") == "nosniff", path
    # No inline script or style anywhere, or the policy would block the pages' own.
    for path in ("/", graded["solution"]["links"]["page"], "/instructor", "/docs"):
        page = http.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "<style" not in page and " style=" not in page, path
        assert not re.search(r"\son[a-z]+=", page), path
        assert "//cdn" not in page and "https://" not in page.split("</head>")[0], path


# -- without JavaScript: a form and a redirect ---------------------------------------------------------

def test_the_form_works_without_javascript(server):
    with server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        home = client.get("/")
        assert home.status_code == 200 and "grader_form" in home.headers["set-cookie"]
        assert "HttpOnly" in home.headers["set-cookie"] and "SameSite=strict" in home.headers["set-cookie"]
        fields = form_fields(home.text)
        answer = client.post("/submissions", data={"csrf": fields["csrf"], "lang": "en", "student": "dave"},
                             files={"file": ("solution.py", SOLUTION.encode(), "text/x-python")})
        assert answer.status_code == 303, answer.text[:500]
        location = answer.headers["location"]
        assert re.fullmatch(r"/submissions/[A-Za-z0-9_-]{22}", location)
        page = client.get(location)
        deadline = time.monotonic() + WAIT
        while "50/50 points" not in page.text and time.monotonic() < deadline:
            # While it waits, the page reloads itself (no script needed).
            assert '<noscript><meta http-equiv="refresh"' in page.text
            time.sleep(0.5)
            page = client.get(location)
        assert "50/50 points" in page.text and "by dave" in page.text
        # Pasted code, with some exercises ticked.
        answer = client.post("/submissions", data={"csrf": fields["csrf"], "code": "def f(x):\n    return x\n",
                                                   "exercises": ["double-backward"], "seed": "3"})
        assert answer.status_code == 303
        submission = answer.headers["location"].rsplit("/", 1)[-1]
        stored = client.get(f"/api/v1/submissions/{submission}", headers={"Accept": "application/json"}).json()
        assert stored["exercises"] == ["double-backward"] and stored["seed"] == 3 and stored["filename"] == "solution.py"


def test_bad_form_input_gets_a_clear_page_not_a_traceback(server):
    with server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        fields = form_fields(client.get("/").text)
        cases = [
            ({"csrf": fields["csrf"]}, None, 422, "Paste your code or choose a file."),
            ({"csrf": fields["csrf"]}, {"file": ("notes.txt", b"hello", "text/plain")}, 422, "not a .py file"),
            ({"csrf": fields["csrf"]}, {"file": ("broken.ipynb", b"{not json", "application/json")}, 422,
             "not a Jupyter notebook"),
            ({"csrf": fields["csrf"], "code": "x = 1\n", "seed": "-4"}, None, 422, "The seed must be a whole number"),
            ({"csrf": fields["csrf"], "code": "x = 1\n", "exercises": ["no-such"]}, None, 422, "unknown exercise"),
            ({"csrf": "forged", "code": "x = 1\n"}, None, 403, "The form had expired"),
        ]
        for data, files, status, words in cases:
            answer = client.post("/submissions", data=data, files=files)
            assert answer.status_code == status, (data, answer.text[:300])
            assert words in answer.text and "Traceback" not in answer.text, (data, answer.text[:2000])
            assert 'role="alert"' in answer.text
        too_big = client.post("/submissions", data={"csrf": fields["csrf"]},
                              files={"file": ("big.py", b"#" * (9 << 20), "text/x-python")})
        assert too_big.status_code == 413 and "larger than this server accepts" in too_big.text
        assert 'role="alert"' in too_big.text and "Traceback" not in too_big.text
        kept = client.post("/submissions", data={"csrf": fields["csrf"], "code": "x = 1\n", "seed": "abc"})
        assert "x = 1" in kept.text  # what the reader typed is kept
        missing = client.get("/submissions/not-a-real-id")
        assert missing.status_code == 404 and "No such submission" in missing.text
        assert client.get("/submissions/" + "x" * 500).status_code == 404
        unknown = client.get("/no/such/page")
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
        assert client.get("/no/such/page", headers={"Accept": "application/json"}).json()["status"] == 404


# -- the instructor's dashboard -------------------------------------------------------------------------

def test_instructor_pages_need_a_session_and_forms_need_csrf(server, instructor_token):
    student = token(server.db, "student", "erin")
    with server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        for path in ("/instructor/submissions", "/instructor/gradebook", "/instructor/gradebook.csv",
                     f"/instructor/source/{'a' * 22}"):
            answer = client.get(path)
            assert answer.status_code == 401 and 'action="/instructor/sign-in"' in answer.text, path
            assert "student,submission" not in answer.text and "<table" not in answer.text, path
        assert client.get("/api/v1/gradebook.csv").status_code == 401
        fields = form_fields(client.get("/instructor").text)
        # No CSRF token, or a wrong one: refused before the token is even looked at.
        assert client.post("/instructor/sign-in", data={"token": instructor_token}).status_code == 403
        assert client.post("/instructor/sign-in", data={"csrf": "x" * 43, "token": instructor_token}).status_code == 403
        assert client.post("/instructor/sign-in", data={"csrf": fields["csrf"], "token": "grader_000000000000_" + "x" * 43}).status_code == 401
        assert client.post("/instructor/sign-in", data={"csrf": fields["csrf"], "token": student}).status_code == 403
        signed = client.post("/instructor/sign-in", data={"csrf": fields["csrf"], "token": instructor_token,
                                                          "next": "https://evil.example/"})
        assert signed.status_code == 303 and signed.headers["location"] == "/instructor"
        cookie = signed.headers["set-cookie"]
        assert "grader_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert instructor_token not in cookie
        dashboard = client.get("/instructor/submissions")
        assert dashboard.status_code == 200
        session_csrf = form_fields(dashboard.text)["csrf"]
        assert session_csrf != fields["csrf"]
        # Signing out needs the session's own CSRF token.
        assert client.post("/instructor/sign-out", data={}).status_code == 403
        assert client.post("/instructor/sign-out", data={"csrf": fields["csrf"]}).status_code == 403
        assert client.get("/instructor/submissions").status_code == 200
        assert client.post("/instructor/sign-out", data={"csrf": session_csrf}).status_code == 200
        assert client.get("/instructor/submissions").status_code == 401


def test_a_revoked_token_ends_its_sessions(server):
    import subprocess
    import sys

    from service_support.server import ROOT

    short_lived = token(server.db, "instructor", "TA")
    with server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        assert sign_in(client, short_lived).status_code == 303
        assert client.get("/instructor/gradebook").status_code == 200
        token_id = short_lived.split("_")[1]
        subprocess.run([sys.executable, "-m", "grader.service", "token", "revoke", token_id, "--db", str(server.db)],
                       check=True, capture_output=True, cwd=ROOT, timeout=60)
        assert client.get("/instructor/gradebook").status_code == 401


def test_the_gradebook_csv_for_a_signed_in_instructor(server, graded, instructor_token):
    with server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        assert sign_in(client, instructor_token).status_code == 303
        for pick in ("latest", "best"):
            answer = client.get("/instructor/gradebook.csv", params={"pick": pick})
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
            lines = answer.text.splitlines()
            assert lines[0].startswith("student,submission,file,submitted,score,max_score,second-derivative-cost")
            bob = [line for line in lines if line.startswith("bob,")]
            assert bob and ",46,50," in bob[0]
            with server.client(headers={"Authorization": f"Bearer {instructor_token}"}) as api:
                assert api.get("/api/v1/gradebook.csv", params={"pick": pick}).text == answer.text
        page = client.get("/instructor/gradebook", params={"pick": "best"}).text
        assert 'href="/instructor/gradebook.csv?pick=best"' in page and "<th scope=\"row\">bob</th>" in page


def test_the_instructor_finds_the_failing_check_and_filters_by_keyboard(server, browser, graded, instructor_token, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in_browser(browser, server, instructor_token)
    browser.get(server.url + "/instructor")
    full_page_screenshot(browser, shots / "dashboard.png")
    # The class at a glance: a score chart with its table, and the check bob fails among the most failed.
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart.histogram[role=img]")
    assert browser.find_elements(By.CSS_SELECTOR, "table.bins")
    most = browser.find_element(By.CSS_SELECTOR, "ol.most-failed")
    link = [a for a in most.find_elements(By.TAG_NAME, "a") if "graph-size" in a.text]
    assert link, most.text
    row = browser.find_element(By.ID, "check-second-derivative-cost--graph-size")
    assert "%" in row.find_element(By.CSS_SELECTOR, "td.share").text and row.find_element(By.CSS_SELECTOR, "td.share").text != "0%"
    assert "AccumulateGrad" in row.text  # its most frequent hint
    press(browser, link[0])
    wait_for(browser, lambda d: "failing=" in d.current_url)
    files = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "table.submissions tbody td:nth-child(3) a")]
    # Those that fail it (the mistake, and the submissions whose graph_size raised), not those that pass it.
    assert GRAPH_MISTAKE.name in files and "solution.py" not in files, files
    full_page_screenshot(browser, shots / "failing-check.png")
    # The filters: by student and status.
    browser.get(server.url + "/instructor/submissions")
    search = browser.find_element(By.ID, "f-student")
    search.send_keys("bob")
    Select(browser.find_element(By.ID, "f-status")).select_by_value("graded")
    Select(browser.find_element(By.ID, "f-exercise")).select_by_value("second-derivative-cost")
    search.submit()
    wait_for(browser, lambda d: "student=bob" in d.current_url)
    students = {td.text for td in browser.find_elements(By.CSS_SELECTOR, "table.submissions tbody td:nth-child(2)")}
    assert students == {"bob"}
    browser.get(server.url + "/instructor/submissions?student=nobody-at-all")
    assert browser.find_elements(By.CSS_SELECTOR, "table.submissions") == []
    assert "0 submissions found" in result_text(browser)
    assert browser_problems(browser) == []


def test_the_dashboard_numbers_agree_with_the_api(server, http, graded, instructor_token):
    with server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        assert sign_in(client, instructor_token).status_code == 303
        page = client.get("/instructor").text
    with server.client(headers={"Authorization": f"Bearer {instructor_token}"}) as api:
        stats = api.get("/api/v1/stats").json()
    for check in stats["checks"]:
        anchor = re.sub(r"[^A-Za-z0-9_-]", "-", f"{check['exercise']}--{check['check']}")
        row = re.search(rf'id="check-{re.escape(anchor)}">(.*?)</tr>', page, re.S)
        assert row, anchor
        assert f'<td class="share">{100 * check["fail_share"]:.0f}%</td>' in row.group(1), (anchor, check)
        assert f"{check['passed']} / {check['failed']} / {check['error']}" in row.group(1)


# -- keyboards and phones ------------------------------------------------------------------------------

def test_a_submission_by_keyboard_alone(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(server.url + "/?lang=en")
    keys = ActionChains(browser)
    done = set()
    for _ in range(80):
        keys.send_keys(Keys.TAB).perform()
        active = browser.execute_script(
            "const e = document.activeElement; return [e.tagName, e.id, e.type || '', e.value || '']")
        if active[2] == "checkbox" and active[3] == "double-backward":
            keys.send_keys(Keys.SPACE).perform()
            done.add("ticked")
        elif active[1] == "code":
            keys.send_keys("def backward_twice(x):", Keys.ENTER, "    return x", Keys.ENTER).perform()
            done.add("typed")
        elif active[1] == "student":
            keys.send_keys("kim").perform()
        elif active[0] == "BUTTON" and active[2] == "submit" and {"ticked", "typed"} <= done:
            keys.send_keys(Keys.ENTER).perform()
            done.add("sent")
            break
    assert done == {"ticked", "typed", "sent"}, done
    from selenium.webdriver.common.by import By

    total = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "h1 .total"))[0]
    assert total.text == "0/10 points"
    assert [s.get_attribute("aria-labelledby") for s in browser.find_elements(By.CSS_SELECTOR, "section.exercise")] == ["exercise-1"]
    assert "by kim" in result_text(browser)


def test_pages_fit_a_phone_screen(server, browser, graded, instructor_token, shots):
    sign_in_browser(browser, server, instructor_token)
    size = browser.get_window_size()
    browser.set_window_size(375, 800)
    try:
        for name, path in [("home", "/"), ("result", graded["mistake"]["links"]["page"]),
                           ("hostile", graded["hostile"]["links"]["page"]), ("dashboard", "/instructor"),
                           ("submissions", "/instructor/submissions"), ("gradebook", "/instructor/gradebook")]:
            browser.get(server.url + path)
            inner, scroll = browser.execute_script(
                "return [window.innerWidth, document.documentElement.scrollWidth]")
            assert inner <= 400 and scroll <= inner, (path, inner, scroll)
            full_page_screenshot(browser, shots / f"phone-{name}.png", width=375)
    finally:
        browser.set_window_size(size["width"], size["height"])
    assert browser_problems(browser) == []


# -- several exercise sets -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sets_server(tmp_path_factory):
    """A service of two sets: the built-in one and a course's (`course`, one small exercise)."""
    directory = tmp_path_factory.mktemp("pages-sets")
    instance = Server(directory, "--jobs", "1", "--rate", "0", "--exercises", str(write_course(directory))).start()
    yield instance
    instance.stop()


def test_choosing_the_course_set_by_keyboard_grades_against_it(sets_server, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    browser.get(sets_server.url + "/?lang=en")
    chooser = Select(browser.find_element(By.ID, "set"))
    # The course's set is the default (the first --exercises DIR); the built-in one is offered beside it.
    assert [o.text for o in chooser.options] == ["course", "builtin"] and chooser.first_selected_option.text == "course"
    assert len(browser.find_elements(By.CSS_SELECTOR, "fieldset.exercises input[type=checkbox]")) == 1
    # By keyboard: the chooser takes a letter, its button Enter; the page reloads with ?set=... (a GET form).
    browser.find_element(By.ID, "set").send_keys("b")
    browser.find_element(By.CSS_SELECTOR, "form.set-chooser button").send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "set=builtin" in d.current_url)
    assert len(browser.find_elements(By.CSS_SELECTOR, "fieldset.exercises input[type=checkbox]")) == 5
    browser.find_element(By.ID, "set").send_keys("c")
    browser.find_element(By.CSS_SELECTOR, "form.set-chooser button").send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "set=course" in d.current_url)
    boxes = browser.find_elements(By.CSS_SELECTOR, "fieldset.exercises input[type=checkbox]")
    assert [b.get_attribute("value") for b in boxes] == ["double-it"]
    assert Select(browser.find_element(By.ID, "set")).first_selected_option.text == "course"
    assert browser.find_element(By.ID, "set-name").text == "course"
    assert "set=course" in browser.find_element(By.LINK_TEXT, "Download the starter file").get_attribute("href")
    full_page_screenshot(browser, shots / "home-course-set.png")
    browser.execute_script("document.getElementById('code').value = arguments[0]", WRONG)
    press(browser, browser.find_element(By.CSS_SELECTOR, "form.submit button[type=submit]"))
    total = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "h1 .total"))[0]
    assert total.text == "0/2 points"
    assert [s.find_element(By.CSS_SELECTOR, ".exercise-id").text
            for s in browser.find_elements(By.CSS_SELECTOR, "section.exercise")] == ["double-it"]
    assert browser.find_element(By.CSS_SELECTOR, ".facts .exercise-set").text == "Exercise set: course"
    browser.get(browser.current_url.split("?")[0] + "?lang=zh")
    assert browser.find_element(By.CSS_SELECTOR, ".facts .exercise-set").text == "练习集：course"
    browser.get(sets_server.url + "/?lang=en")  # the language cookie back to English for the tests after this one
    assert browser_problems(browser) == []


def test_the_set_chooser_works_without_javascript(sets_server):
    with sets_server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        home = client.get("/", params={"set": "course", "lang": "en"})
        assert home.status_code == 200 and 'value="double-it"' in home.text and 'value="double-backward"' not in home.text
        assert '<input type="hidden" name="exercise_set" value="course">' in home.text
        fields = form_fields(home.text)
        answer = client.post("/submissions", data={"csrf": fields["csrf"], "code": WRONG, "exercise_set": "course",
                                                   "seed": "4"})
        assert answer.status_code == 303, answer.text[:500]
        submission = answer.headers["location"].rsplit("/", 1)[-1]
        stored = client.get(f"/api/v1/submissions/{submission}", params={"wait": 60},
                            headers={"Accept": "application/json"}).json()
        assert stored["exercise_set"] == "course" and stored["max_score"] == 2.0
        unknown = client.get("/", params={"set": "nope"})
        assert unknown.status_code == 422 and "it grades: course, builtin" in unknown.text
        refused = client.post("/submissions", data={"csrf": fields["csrf"], "code": WRONG, "exercise_set": "nope"})
        assert refused.status_code == 422 and "it grades: course, builtin" in refused.text
        assert "Traceback" not in refused.text
        builtin_home = client.get("/", params={"set": "builtin"}).text
        assert "--exercise-set builtin" in builtin_home and "--exercise-set" not in client.get("/").text
        # The dashboard shows one set at a time: the course's gradebook has its exercise's column.
        assert sign_in(client, token(sets_server.db, "instructor", "Prof")).status_code == 303
        book = client.get("/instructor/gradebook", params={"set": "course"}).text
        assert '<option value="course" selected>course</option>' in book and "<code>double-it</code>" in book
        assert "<code>double-backward</code>" not in book and "pick=latest&amp;set=course" in book
        assert '<option value="course" selected>course</option>' in client.get("/instructor/gradebook").text
        builtin_book = client.get("/instructor/gradebook", params={"set": "builtin"}).text
        assert '<option value="builtin" selected>builtin</option>' in builtin_book and "<code>double-it</code>" not in builtin_book
        # A set this server does not grade is said so, as the reader's page says it, above the default set.
        for path in ("/instructor", "/instructor/gradebook", "/instructor/submissions"):
            stale = client.get(path, params={"set": "nope", "lang": "en"})
            assert stale.status_code == 422 and 'role="alert"><p>This server has no such exercise set; it grades: ' \
                'course, builtin.</p>' in stale.text, path
            assert '<option value="course" selected>course</option>' in stale.text or path.endswith("submissions"), path
        assert "本服务器没有这个练习集" in client.get("/instructor", params={"set": "nope", "lang": "zh"}).text
        assert "no such exercise set" not in client.get("/instructor", params={"set": "course", "lang": "en"}).text
        csv_answer = client.get("/instructor/gradebook.csv", params={"set": "nope"})
        assert csv_answer.status_code == 422 and "course, builtin" in csv_answer.text
        assert client.get("/instructor/gradebook.csv", params={"set": "course"}).text.startswith(
            "student,submission,file,submitted,score,max_score,double-it")


def test_screenshots_were_saved(shots):
    saved = sorted(p.name for p in Path(shots).glob("*.png"))
    assert {"home.png", "result-solution.png", "result-mistake.png", "dashboard.png", "phone-result.png"} <= set(saved)
    assert all((Path(shots) / name).stat().st_size > 5000 for name in saved)
