"""The rating pages in a real browser: Debian's headless Chromium through Selenium, against `bench annotate
serve` on 127.0.0.1.

Two annotators rate a whole study made from real runs, one with the mouse and one with the keyboard shortcuts;
the server is killed (SIGKILL) in the middle and started again; model output holding HTML and a script is shown
as text; a wrong token gets the not-found page; the export correlates with the summaries' length, which is what
the annotators rated by.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from annotate_studies import DATA, TASK, Server, chromium, close, have_chromium, make_runs

from bench.annotation.storage import open_study
from bench.tasks.examples import select_indices

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not have_chromium(), reason="needs Debian's chromium and "
                                                   "chromium-driver (apt-get install -y chromium chromium-driver)")]
pytest.importorskip("selenium")
pytest.importorskip("uvicorn", reason="needs the annotate extra")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT_S = 20


def coherence_for(summary: str) -> int:
    """What both annotators rate coherence by: the summary's length (1 + words // 8, at most 5)."""
    return min(5, 1 + len(summary.split()) // 8)


def position_of(driver) -> int:
    return int(driver.current_url.rstrip("/").rsplit("/", 1)[1])


def wait_for_page_change(driver, old_url: str) -> None:
    WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(lambda d: d.current_url != old_url and d.execute_script(
        "return document.readyState") == "complete")


def rate_with_the_mouse(driver, fluency: int) -> tuple[int, dict[str, int]]:
    """Rate the page shown by clicking; returns (position, answers)."""
    position = position_of(driver)
    summary = driver.find_element(By.ID, "summary-only").text
    answers = {"coherence": coherence_for(summary), "fluency": fluency}
    for name, value in answers.items():
        radio = driver.find_element(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]')
        radio.find_element(By.XPATH, "..").click()
        assert radio.is_selected()
    url = driver.current_url
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_page_change(driver, url)
    return position, answers


def rate_with_the_keyboard(driver, fluency: int) -> tuple[int, dict[str, int]]:
    position = position_of(driver)
    summary = driver.find_element(By.ID, "summary-only").text
    answers = {"coherence": coherence_for(summary), "fluency": fluency}
    url = driver.current_url
    ActionChains(driver).send_keys(str(answers["coherence"])).send_keys(str(fluency)).perform()
    for name, value in answers.items():
        assert driver.find_element(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]').is_selected()
    ActionChains(driver).send_keys("\ue007").perform()  # Enter
    wait_for_page_change(driver, url)
    return position, answers


def check_hostile_text(driver) -> bool:
    """On the page of article a5's summary: the payload is text, nothing of it ran or became an element."""
    summary = driver.find_element(By.ID, "summary-only").text
    if "festival" not in summary:
        return False
    assert "<script>window.__xss = 1</script>" in summary and '<img src=x onerror="window.__xss=2">' in summary
    if "Tickets" in summary:  # the summaries that keep the second and third sentences
        assert '<a href="javascript:alert(1)">javascript:alert(1)</a>' in summary
    if "banner" in summary:
        assert "\\u202eLAVITSEF\\u202c" in summary and "\u202e" not in summary
    assert driver.execute_script("return window.__xss === undefined")
    assert driver.find_elements(By.CSS_SELECTOR, "main img, main a[href^='javascript'], main script") == []
    return True


def test_two_annotators_rate_a_whole_study_in_chromium(in_tmp, cli):
    make_runs(in_tmp / "results")
    ids = [json.loads(line)["id"] for line in (DATA / "annotate_news.jsonl").read_text().splitlines()]
    seed = next(s for s in range(100) if ids.index("a5") in select_indices(len(ids), sample=4, seed=s))
    code, out, err = cli("annotate", "new", "pilot", "results", "-t", TASK, "--tasks-dir", str(DATA), "--criterion",
                         "coherence", "--criterion", "fluency", "--sample", "4", "--seed", str(seed), "-a", "ana",
                         "-a", "ben", "--repeat", "1")
    assert code == 0, err
    study = Path("results/.annotations/pilot.sqlite")
    server = Server(study, in_tmp)
    ana, ben = chromium(), chromium()
    submitted: dict[tuple[str, int], dict[str, int]] = {}
    hostile_seen = 0
    try:
        # ana rates half her pages with the mouse
        ana.get(server.links["ana"])
        assert position_of(ana) == 1 and "0 of 13 answered" in ana.find_element(By.ID, "answered").text
        for _ in range(6):
            hostile_seen += check_hostile_text(ana)
            position, answers = rate_with_the_mouse(ana, fluency=3)
            submitted[("ana", position)] = answers
        assert position_of(ana) == 7
        # the server dies without warning, and starts again on the same port
        server.kill()
        server = Server(study, in_tmp, port=server.port)
        ana.get(server.links["ana"])  # her link resumes where she was
        assert position_of(ana) == 7 and "6 of 13 answered" in ana.find_element(By.ID, "answered").text
        # she goes back one page and changes her mind
        url = ana.current_url
        ana.find_element(By.CSS_SELECTOR, "a[rel=prev]").click()
        wait_for_page_change(ana, url)
        assert position_of(ana) == 6
        assert ana.find_element(By.CSS_SELECTOR, 'input[name="fluency"][value="3"]').is_selected()
        ana.find_element(By.CSS_SELECTOR, 'input[name="fluency"][value="1"]').find_element(By.XPATH, "..").click()
        url = ana.current_url
        ana.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for_page_change(ana, url)
        submitted[("ana", 6)] = {**submitted[("ana", 6)], "fluency": 1}
        assert position_of(ana) == 7  # the next unanswered page
        # ben rates all of his with the keyboard, while ana finishes with the mouse
        ben.get(server.links["ben"])
        for _ in range(13):
            hostile_seen += check_hostile_text(ben)
            position, answers = rate_with_the_keyboard(ben, fluency=2)
            submitted[("ben", position)] = answers
        while ana.current_url.rsplit("/", 1)[1] != "done":
            hostile_seen += check_hostile_text(ana)
            position, answers = rate_with_the_mouse(ana, fluency=3)
            submitted[("ana", position)] = answers
        assert hostile_seen >= 2
        for driver, name in ((ana, "ana"), (ben, "ben")):
            assert driver.current_url.endswith("/done") and f"Thank you, {name}!" in driver.find_element(
                By.TAG_NAME, "h1").text
        # a wrong token: the not-found page, status 404
        base = server.links["ana"].rsplit("/a/", 1)[0]
        ana.get(f"{base}/a/{'x' * 32}/1")
        assert "There is no page here" in ana.find_element(By.ID, "message").text
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{base}/a/{'x' * 32}/1", timeout=10)
        assert e.value.code == 404
    finally:
        close(ana)
        close(ben)
        server.kill()
    assert len(submitted) == 26
    # every answer given is in the export, as given (first showings; ana's change included)
    code, out, err = cli("annotate", "export", "pilot", "-o", "ratings.jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in Path("ratings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12 and all(r["annotators"] == ["ana", "ben"] for r in rows)
    made = open_study(study)
    expected: dict[tuple[str, str], dict[str, list[int]]] = {}
    for a in made.annotators:
        for p in a.pages:
            if not p.repeat:
                it = made.items[p.item]
                ratings = expected.setdefault((made.documents[it.document], made.systems[it.a]), {})
                for c, v in submitted[(a.name, p.position)].items():
                    ratings.setdefault(c, []).append(v)
    assert {(r["id"], r["system"]): r["ratings"] for r in rows} == expected
    assert any(r["ratings"]["fluency"][0] == 1 for r in rows)  # ana's changed answer
    for r in rows:
        assert r["ratings"]["coherence"] == [coherence_for(r["prediction"])] * 2
    # what bench correlate makes of it: the annotators rated by length, so the length agrees with them
    code, out, err = cli("correlate", "results", "--ratings", "pilot", "--metric", "extractiveness", "--resamples",
                         "100", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    kendall = {(r["criterion"], r["level"]): r["kendall"] for r in data["rows"] if r["metric"] == "summary_length"}
    assert kendall[("coherence", "summary")] > 0.8 and kendall[("coherence", "system")] == 1.0
    assert {a["criterion"]: a["alpha"] for a in data["agreement"]}["coherence"] == 1.0
    code, out, err = cli("annotate", "status", "pilot", "-f", "json", "--resamples", "100")
    status = json.loads(out)
    assert [p["done"] for p in status["progress"]] == [13, 13]
    per = {(a["annotator"], a["criterion"]): a for a in status["annotators"]}
    assert per[("ben", "coherence")]["self"] == {"n": 1, "same": 1.0, "mean_abs_diff": 0.0}


def test_the_pairwise_page_in_chromium_records_each_side(in_tmp, cli):
    make_runs(in_tmp / "results")
    code, out, err = cli("annotate", "new", "duel", "results", "-t", TASK, "--tasks-dir", str(DATA), "--criterion",
                         "relevance", "--sample", "3", "-a", "ana", "--pairwise", "--repeat", "2")
    assert code == 0, err
    server = Server(Path("results/.annotations/duel.sqlite"), in_tmp)
    driver = chromium()
    pages = 0
    try:
        driver.get(server.links["ana"])
        while not driver.current_url.endswith("/done"):
            a = driver.find_element(By.ID, "summary-A").text
            b = driver.find_element(By.ID, "summary-B").text
            key = "t" if len(a) == len(b) else "a" if len(a) > len(b) else "b"  # she prefers the longer summary
            url = driver.current_url
            ActionChains(driver).send_keys(key).perform()
            value = {"a": "A", "b": "B", "t": "tie"}[key]
            assert driver.find_element(By.CSS_SELECTOR, f'input[name="preference.relevance"][value="{value}"]') \
                .is_selected()
            ActionChains(driver).send_keys("\ue007").perform()
            wait_for_page_change(driver, url)
            pages += 1
            assert pages <= 11
    finally:
        close(driver)
        server.kill()
    assert pages == 11  # 3 documents x 3 pairs, 2 of them twice
    code, out, err = cli("annotate", "export", "duel")
    rows = [json.loads(line) for line in out.splitlines()]
    predictions = {}
    for run in Path("results", TASK).glob("*/*/predictions.jsonl"):
        for line in run.read_text(encoding="utf-8").splitlines():
            p = json.loads(line)
            predictions[(run.parent.parent.name, p["id"])] = p["prediction"]
    for r in rows:  # whatever side each summary was shown on, the export names the one she chose
        la, lb = len(predictions[(r["system_a"], r["id"])]), len(predictions[(r["system_b"], r["id"])])
        assert r["preference"] == ("tie" if la == lb else "a" if la > lb else "b")
    assert {r["position"] for r in rows} == {"left", "right"}
    repeats = [r for r in rows if r["repeat"]]
    assert len(repeats) == 2
    for r in repeats:  # a repeated pair comes the other way round
        first = next(x for x in rows if not x["repeat"] and (x["id"], x["system_a"], x["system_b"]) ==
                     (r["id"], r["system_a"], r["system_b"]))
        assert first["position"] != r["position"]
