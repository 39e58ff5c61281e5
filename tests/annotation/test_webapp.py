"""The rating pages over plain HTTP (no JavaScript), in process through Starlette's client: the form, the
private links, and every refusal (404, 403, 413, 415, 400) with nothing stored."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from annotate_studies import HOSTILE, synthetic_study

pytest.importorskip("starlette", reason="needs the annotate extra")
from starlette.testclient import TestClient  # noqa: E402

from bench.annotation.storage import all_answers, connect, open_study  # noqa: E402
from bench.annotation.webapp import MAX_BODY, make_app  # noqa: E402


class Form(HTMLParser):
    """What a browser without JavaScript sends: the form's action, hidden fields and radio groups."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = None
        self.hidden: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.checked: dict[str, str] = {}
        self.buttons: list[dict[str, str]] = []
        self.links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
            assert a.get("method") == "post"
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a["value"]
        elif tag == "input" and a.get("type") == "radio":
            self.radios.setdefault(a["name"], []).append(a["value"])
            if "checked" in a:
                self.checked[a["name"]] = a["value"]
        elif tag == "button":
            self.buttons.append(a)
        elif tag == "a":
            self.links.append(a.get("href", ""))


def client(path: Path) -> TestClient:
    return TestClient(make_app(path), base_url="http://127.0.0.1", follow_redirects=False)


def answers_of(path: Path) -> dict[tuple[str, int, str], str]:
    """(annotator, position, criterion) -> answer, from the study file."""
    study = open_study(path)
    where = {p.id: (a.name, p.position) for a in study.annotators for p in a.pages}
    conn = connect(path)
    try:
        return {(*where[page], c): v for page, c, v in all_answers(conn)}
    finally:
        conn.close()


@pytest.fixture
def study(tmp_path) -> Path:
    return synthetic_study(tmp_path / "s.sqlite", predictions={(0, 0): HOSTILE}, repeat=2)


def token(path: Path, k: int = 0) -> str:
    return open_study(path).annotators[k].token


def open_page(c: TestClient, tok: str, position: int) -> Form:
    r = c.get(f"/a/{tok}/{position}")
    assert r.status_code == 200, r.text
    return Form(r.text)


# ------------------------------------------------------------------ the form, as a user without JavaScript


def test_a_whole_queue_rated_through_the_plain_form(study):
    c = client(study)
    tok = token(study)
    r = c.get(f"/a/{tok}")
    assert r.status_code == 303 and r.headers["location"] == f"/a/{tok}/1"
    sent = {}
    position = 1
    for _ in range(30):
        form = open_page(c, tok, position)
        assert form.action == f"/a/{tok}/answer" and set(form.hidden) == {"csrf", "item"}
        assert form.radios == {"coherence": ["1", "2", "3", "4", "5"], "fluency": ["1", "2", "3"]}
        assert form.buttons and all("name" not in b for b in form.buttons)  # the button adds no field
        values = {"coherence": str(1 + position % 5), "fluency": str(1 + position % 3)}
        r = c.post(form.action, data={**form.hidden, **values})
        assert r.status_code == 303, r.text
        sent[position] = values
        if r.headers["location"].endswith("/done"):
            break
        position = int(r.headers["location"].rsplit("/", 1)[1])
    assert len(sent) == 20  # 18 items, 2 of them twice
    done = c.get(f"/a/{tok}/done")
    assert "Thank you, ana!" in done.text and "all 20 items" in done.text
    stored = answers_of(study)
    assert {k: v for k, v in stored.items() if k[0] == "ana"} == \
        {("ana", p, c_): v for p, values in sent.items() for c_, v in values.items()}


def test_progress_previous_and_changing_an_answer(study):
    c = client(study)
    tok = token(study)
    form = open_page(c, tok, 1)
    c.post(form.action, data={**form.hidden, "coherence": "2", "fluency": "1"})
    page2 = c.get(f"/a/{tok}/2").text
    assert "1 of 20 answered" in page2 and f'href="/a/{tok}/1"' in page2  # the way back
    again = open_page(c, tok, 1)
    assert again.checked == {"coherence": "2", "fluency": "1"}  # the answer given, ready to change
    c.post(again.action, data={**again.hidden, "coherence": "5", "fluency": "3"})
    assert {k: v for k, v in answers_of(study).items() if k[0] == "ana"} == \
        {("ana", 1, "coherence"): "5", ("ana", 1, "fluency"): "3"}


def test_after_saving_comes_the_next_unanswered_page(study):
    c = client(study)
    tok = token(study)
    for position, expected in ((3, 4), (1, 2), (2, 4), (20, 4)):
        form = open_page(c, tok, position)
        r = c.post(form.action, data={**form.hidden, "coherence": "3", "fluency": "2"})
        assert r.headers["location"] == f"/a/{tok}/{expected}", position
    # coming back to the link resumes at the first unanswered page
    assert c.get(f"/a/{tok}").headers["location"] == f"/a/{tok}/4"


def test_pairwise_form_asks_for_a_preference_per_criterion(tmp_path):
    path = synthetic_study(tmp_path / "p.sqlite", pairwise=True, names=("relevance", "coherence"))
    c = client(path)
    tok = token(path)
    form = open_page(c, tok, 1)
    assert form.radios == {"preference.relevance": ["A", "tie", "B"], "preference.coherence": ["A", "tie", "B"]}
    page = c.get(f"/a/{tok}/1").text
    assert "Summary A" in page and "Summary B" in page
    r = c.post(form.action, data={**form.hidden, "preference.relevance": "A", "preference.coherence": "tie"})
    assert r.status_code == 303
    assert answers_of(path) == {("ana", 1, "relevance"): "A", ("ana", 1, "coherence"): "tie"}
    r = c.post(form.action, data={**form.hidden, "preference.relevance": "C", "preference.coherence": "tie"})
    assert r.status_code == 400 and "choose A, B or tie" in r.text


# ------------------------------------------------------------------ private links


def test_without_a_valid_token_every_page_is_404(study):
    c = client(study)
    study_ = open_study(study)
    tok = study_.annotators[0].token
    paths = ["/", "/a", "/a/", "/a/x", "/a/x/1", "/a/x/answer", "/a/x/done", f"/a/{tok[:-1]}/1", f"/a/{tok}x/1",
             f"/a/{tok.upper()}/1", f"/x/{tok}/1", f"//a/{tok}/1", "/static/annotate.css",
             "/a/x/static/annotate.css", "/favicon.ico", "/robots.txt", f"/a/{tok}/0", f"/a/{tok}/21",
             f"/a/{tok}/01", f"/a/{tok}/1/x", "/a/%C3%A9/1", "/a/%ED%A0%80/1", f"/a/{tok}/static/other.css", f"/a/{tok}/static/../annotate.css",
             # status and export are commands, not pages
             "/status", "/export", f"/a/{tok}/status", f"/a/{tok}/export", f"/a/{tok}/results"]
    for path in paths:
        for method in ("GET", "POST"):
            r = c.request(method, path)
            assert r.status_code == 404, (method, path, r.status_code)
            assert not any(a.token in r.text for a in study_.annotators)
    ok = c.get(f"/a/{tok}/1")
    assert ok.status_code == 200 and c.get(f"/a/{tok}/static/annotate.css").status_code == 200
    # a page's address with the wrong method is refused, not served
    assert c.get(f"/a/{tok}/answer").status_code == 405 and c.post(f"/a/{tok}/1").status_code == 405


def test_an_annotator_sees_and_changes_only_their_own_answers(tmp_path):
    path = synthetic_study(tmp_path / "s.sqlite", annotators=("ana", "ben", "chi"), overlap=2)
    study = open_study(path)
    ana, ben = study.annotators[0], study.annotators[1]
    shared = sorted({p.item for p in ana.pages} & {p.item for p in ben.pages})[0]
    ana_page = next(p for p in ana.pages if p.item == shared)
    ben_page = next(p for p in ben.pages if p.item == shared)
    only_ben = next(p for p in ben.pages if p.item not in {q.item for q in ana.pages})
    a, b = client(path), client(path)
    form = open_page(a, ana.token, ana_page.position)
    assert a.post(form.action, data={**form.hidden, "coherence": "5", "fluency": "3"}).status_code == 303
    # ben's page of the same item shows none of ana's answers
    assert open_page(b, ben.token, ben_page.position).checked == {}
    bform = open_page(b, ben.token, ben_page.position)
    b.post(bform.action, data={**bform.hidden, "coherence": "1", "fluency": "1"})
    before = answers_of(path)
    # ana posting ben's items (the same item, and one only ben has), through her own link and session
    for key in (ben_page.key, only_ben.key, "made-up-key", "cl\u00e9"):
        r = a.post(form.action, data={"csrf": form.hidden["csrf"], "item": key, "coherence": "3", "fluency": "2"})
        assert r.status_code == 400 and "not one of yours" in r.text
    assert answers_of(path) == before
    assert before[("ben", ben_page.position, "coherence")] == "1"


# ------------------------------------------------------------------ forged, oversized and wrong answers


def test_forms_carry_a_per_session_token_against_cross_site_posts(study):
    tok = token(study)
    c = client(study)
    form = open_page(c, tok, 1)
    cookie = c.cookies.get("bench_session")
    assert cookie and form.hidden["csrf"] != cookie
    good = {**form.hidden, "coherence": "3", "fluency": "2"}
    # another site posting to the link: no session cookie (SameSite=Strict), or no token, or a guessed one
    stranger = client(study)
    assert stranger.post(form.action, data=good).status_code == 403
    assert c.post(form.action, data={**good, "csrf": ""}).status_code == 403
    assert c.post(form.action, data={k: v for k, v in good.items() if k != "csrf"}).status_code == 403
    assert c.post(form.action, data={**good, "csrf": "0" * 64}).status_code == 403
    assert c.post(form.action, data={**good, "csrf": "\u00e9" * 64}).status_code == 403  # not ASCII: no 500
    # another session's token does not fit this session
    other = client(study)
    other_form = open_page(other, tok, 1)
    assert c.post(form.action, data={**good, "csrf": other_form.hidden["csrf"]}).status_code == 403
    # another annotator's token does not fit this link
    ben = open_page(c, token(study, 1), 1)
    assert c.post(form.action, data={**good, "csrf": ben.hidden["csrf"]}).status_code == 403
    assert answers_of(study) == {}
    assert c.post(form.action, data=good).status_code == 303
    assert len(answers_of(study)) == 2


def test_request_bodies_are_bounded(study):
    tok = token(study)
    c = client(study)
    form = open_page(c, tok, 1)
    big = {**form.hidden, "coherence": "3", "fluency": "2", "pad": "x" * MAX_BODY}
    r = c.post(form.action, data=big)
    assert r.status_code == 413
    # without a Content-Length (chunked): cut off once the bound is passed
    body = ("&".join(f"{k}={v}" for k, v in {**form.hidden, "coherence": "3", "fluency": "2"}.items())
            + "&pad=" + "x" * (4 * MAX_BODY)).encode()
    chunks = (body[k:k + 1024] for k in range(0, len(body), 1024))
    r = c.post(form.action, content=chunks, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert answers_of(study) == {}


@pytest.mark.parametrize("values, message", [
    ({"coherence": "6", "fluency": "2"}, "coherence: a rating is a whole number from 1 to 5 (got &#39;6&#39;)"),
    ({"coherence": "0", "fluency": "2"}, "from 1 to 5"),
    ({"coherence": "-1", "fluency": "2"}, "from 1 to 5"),
    ({"coherence": "3.5", "fluency": "2"}, "from 1 to 5"),
    ({"coherence": "3", "fluency": "4"}, "fluency: a rating is a whole number from 1 to 3"),
    ({"coherence": "three", "fluency": "2"}, "from 1 to 5"),
    ({"coherence": " 3", "fluency": "2"}, "from 1 to 5"),
    ({"coherence": "3"}, "fluency has no answer yet"),
    ({"coherence": "", "fluency": "2"}, "coherence has no answer yet"),
    ({"coherence": "3", "fluency": "2", "relevance": "4"}, "Unexpected field &#39;relevance&#39;"),
])
def test_an_answer_outside_the_scale_is_refused_and_not_stored(study, values, message):
    tok = token(study)
    c = client(study)
    form = open_page(c, tok, 1)
    r = c.post(form.action, data={**form.hidden, **values})
    assert r.status_code == 400 and message in r.text and "nothing was saved" in r.text
    assert answers_of(study) == {}


def test_a_field_twice_or_not_a_form_is_refused(study):
    tok = token(study)
    c = client(study)
    form = open_page(c, tok, 1)
    body = "&".join(f"{k}={v}" for k, v in form.hidden.items()) + "&coherence=3&coherence=5&fluency=2"
    r = c.post(form.action, content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "sent twice" in r.text
    r = c.post(form.action, json={**form.hidden, "coherence": 3, "fluency": 2})
    assert r.status_code == 415
    r = c.post(form.action, content=b"\xff\xfe=\xff", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert answers_of(study) == {}


# ------------------------------------------------------------------ what a page shows


def test_text_from_the_runs_is_shown_as_text(study):
    study_ = open_study(study)
    # every annotator's page that shows document 0's summary by system 0 (the hostile one)
    shown = 0
    c = client(study)
    for a in study_.annotators:
        for p in a.pages:
            item = study_.items[p.item]
            if (item.document, item.a) != (0, 0):
                continue
            html = c.get(f"/a/{a.token}/{p.position}").text
            shown += 1
            assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
            assert "<script>window" not in html and "<img" not in html and "<a href=\"javascript" not in html
            assert "javascript:" not in re.sub(r"&[a-z#0-9]+;", "", "".join(re.findall(r'href="([^"]*)"', html)))
            assert "\u202e" not in html and "\\u202eLAVITSEF\\u202c" in html  # the override written out
            assert "caf\u00e9 \U0001F389" in html  # ordinary Unicode untouched
            assert html.count("<script") == 1  # the page's own script only
    assert shown >= 2  # each annotator met it (a repeated page shows it again)


def test_system_names_never_reach_a_page(tmp_path):
    systems = ("sys-alpha", "sys-beta", "sys-gamma")
    for pairwise in (False, True):
        path = synthetic_study(tmp_path / f"{pairwise}.sqlite", pairwise=pairwise, repeat=2, systems=systems)
        study = open_study(path)
        c = client(path)
        pages = []
        for a in study.annotators:
            for p in a.pages:
                r = c.get(f"/a/{a.token}/{p.position}")
                pages.append(r.text + "".join(f"{k}: {v}\n" for k, v in r.headers.items()))
            pages.append(c.get(f"/a/{a.token}/done").text)
            pages.append(c.get(f"/a/{a.token}/static/annotate.js").text)
            pages.append(c.post(f"/a/{a.token}/answer", data={"item": "x"}).text)
        assert len(pages) == sum(len(a.pages) + 3 for a in study.annotators)
        for html in pages:
            for name in (*systems, "sys-", "alpha", "beta", "gamma", "results/synthetic"):
                assert name not in html


def test_pages_are_sent_with_protective_headers(study):
    tok = token(study)
    c = client(study)
    r = c.get(f"/a/{tok}/1")
    h = r.headers
    assert "script-src 'self'" in h["content-security-policy"] and "default-src 'none'" in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store" and h["x-frame-options"] == "DENY"
    cookie = h["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and f"path=/a/{tok.lower()}" in cookie
    assert 'style="' not in r.text and "onclick" not in r.text  # nothing the policy would block
