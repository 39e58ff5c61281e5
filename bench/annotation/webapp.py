"""The rating pages: a Starlette app over one study file, its pages Jinja2 templates.

Addresses (TOKEN: an annotator's private token; anything else is 404)::

    GET  /a/TOKEN            -> the annotator's first unanswered page (or the thank-you page)
    GET  /a/TOKEN/N          -> page N of the annotator's queue
    POST /a/TOKEN/answer     -> the answers of one page (a plain HTML form), then the next unanswered page
    GET  /a/TOKEN/done       -> the thank-you page
    GET  /a/TOKEN/static/... -> the page's style sheet and script

The form works without JavaScript: per criterion a radio group named after the
criterion (values 1..scale), or in pairwise studies one named
``preference.CRITERION`` (values A, B, tie), the page's ``item`` (a random key)
and ``csrf`` (the anti-forgery token). Answers are refused (400, nothing stored)
when a value lies outside the scale, a criterion is missing, a field is unknown
or the item is not one of the annotator's; a form without the token of the
browser's session cookie is refused (403); bodies over `MAX_BODY` bytes are not
read (413). System names never reach a page; every text from the runs is
HTML-escaped (Jinja2's autoescape) with control characters written out.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bench.annotation.storage import PREFERENCES, Annotator, Page, Study, answered_pages, connect, open_study, \
    page_answers, save_answers, secret, summary, texts
from bench.errors import visible

#: Largest request body read: a page's answers are a few hundred bytes.
MAX_BODY = 16 * 1024
MAX_FIELDS = 64
COOKIE = "bench_session"
SESSION = re.compile(r"[A-Za-z0-9_-]{22,64}")
HERE = Path(__file__).resolve().parent
STATIC = {"annotate.css": "text/css; charset=utf-8", "annotate.js": "text/javascript; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Refused(Exception):
    """A request answered with an error page: (status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def environment() -> Any:
    """The Jinja2 environment of the pages: autoescape always, every variable defined."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["shown"] = lambda text: visible(str(text), multiline=True)
    return env


class Pages:
    """The app's state: the study's fixed part, its key, the templates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.study: Study = open_study(path)
        conn = connect(path)
        try:
            self.secret = secret(conn)
        finally:
            conn.close()
        self.env = environment()
        self.static = {name: (HERE / "static" / name).read_bytes() for name in STATIC}

    # -------------------------------------------------------------- helpers

    def annotator(self, token: str) -> Annotator | None:
        found = None
        for a in self.study.annotators:  # every token compared, in constant time
            if hmac.compare_digest(a.token.encode(), _bytes(token)):
                found = a
        return found

    def csrf(self, annotator: Annotator, session: str) -> str:
        return hmac.new(self.secret, f"{annotator.token}:{session}".encode(), hashlib.sha256).hexdigest()

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        html = self.env.get_template(template).render(**values)
        return Response(html, status_code=status, media_type="text/html; charset=utf-8", headers=HEADERS)

    def refused(self, e: Refused, annotator: Annotator | None = None, back: str | None = None) -> Response:
        return self.render("message.html", e.status, title="Not saved" if annotator else "Not found",
                           message=e.message, back=back, static=_static_base(annotator))

    def answered(self, annotator: Annotator) -> set[int]:
        conn = connect(self.path)
        try:
            return answered_pages(conn, annotator.id, len(self.study.criteria))
        finally:
            conn.close()

    def next_position(self, annotator: Annotator, after: int = 0) -> int | None:
        """The first unanswered page after `after`, else the first unanswered page; None when all are answered."""
        answered = self.answered(annotator)
        open_ = [p.position for p in annotator.pages if p.position not in answered]
        later = [p for p in open_ if p > after]
        return (later or open_ or [None])[0]

    # -------------------------------------------------------------- pages

    def page_view(self, annotator: Annotator, position: int, session: str) -> dict[str, Any]:
        page = annotator.pages[position - 1]
        item = self.study.items[page.item]
        conn = connect(self.path)
        try:
            _, document, _ = texts(conn, item.document)
            given = page_answers(conn, page.id)
            answered = answered_pages(conn, annotator.id, len(self.study.criteria))
            if item.b is None:
                shown = [summary(conn, item.document, item.a)]
            else:
                a, b = summary(conn, item.document, item.a), summary(conn, item.document, item.b)
                shown = [b, a] if page.flipped else [a, b]
        finally:
            conn.close()
        return {"study": self.study, "annotator": annotator.name, "position": position, "total": len(annotator.pages),
                "answered": len(answered), "document": document, "summaries": shown, "criteria": self.study.criteria,
                "given": given, "key": page.key, "csrf": self.csrf(annotator, session),
                "pairwise": self.study.pairwise, "preferences": PREFERENCES, "base": f"/a/{annotator.token}",
                "static": _static_base(annotator), "done": len(answered) == len(annotator.pages),
                "was_answered": position in answered}

    def check_answers(self, annotator: Annotator, fields: dict[str, str], session: str | None) -> tuple[Page, dict[str, str]]:
        """The page and answers of a posted form, or `Refused`."""
        if session is None or not hmac.compare_digest(_bytes(fields.get("csrf", "")),
                                                      self.csrf(annotator, session).encode()):
            raise Refused(403, "This form was not sent from your own rating page (its security token does not match "
                               "your browser's session). Open your link again and answer there.")
        key = _bytes(fields.get("item", ""))
        page = next((p for p in annotator.pages if hmac.compare_digest(p.key.encode(), key)), None)
        if page is None:
            raise Refused(400, "This item is not one of yours: nothing was saved.")
        answers: dict[str, str] = {}
        missing = []
        for c in self.study.criteria:
            field = f"preference.{c.name}" if self.study.pairwise else c.name
            value = fields.get(field)
            if value is None or value == "":
                missing.append(c.name)
                continue
            if self.study.pairwise:
                if value not in PREFERENCES:
                    raise Refused(400, f"{c.name}: choose A, B or tie (got {value!r}); nothing was saved.")
            elif not re.fullmatch(r"[0-9]{1,2}", value) or not 1 <= int(value) <= c.scale:
                raise Refused(400, f"{c.name}: a rating is a whole number from 1 to {c.scale} (got {value!r}); "
                                   "nothing was saved.")
            answers[c.name] = value if self.study.pairwise else str(int(value))
        if missing:
            raise Refused(400, f"Answer every question before saving: {', '.join(missing)} has no answer yet; "
                               "nothing was saved.")
        known = {"csrf", "item"} | {f"preference.{c.name}" if self.study.pairwise else c.name
                                    for c in self.study.criteria}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise Refused(400, f"Unexpected field {unknown[0]!r}: nothing was saved.")
        return page, answers

    def save(self, page: Page, answers: dict[str, str]) -> None:
        conn = connect(self.path)
        try:
            save_answers(conn, page.id, answers)
        finally:
            conn.close()


def _bytes(text: str) -> bytes:
    """Text from a request as bytes, for `hmac.compare_digest` (which takes only ASCII str)."""
    return text.encode("utf-8", "surrogatepass")


def _static_base(annotator: Annotator | None) -> str | None:
    return f"/a/{annotator.token}/static" if annotator else None


def _session(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and SESSION.fullmatch(value) else None


async def read_form(request: Request) -> dict[str, str]:
    """The posted form's fields, its body bounded by `MAX_BODY`; `Refused` when it is not a form we read."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused(415, "Answers are sent as an HTML form (application/x-www-form-urlencoded).")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused(413, f"A page's answers are far smaller than this request (at most {MAX_BODY} bytes).")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, f"A page's answers are far smaller than this request (at most {MAX_BODY} bytes).")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "The form could not be read.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise Refused(400, f"Field {name!r} was sent twice: nothing was saved.")
        fields[name] = value
    return fields


def make_app(path: Path) -> Starlette:
    """The rating app over the study file at `path`."""
    pages = Pages(path)
    not_found = Refused(404, "There is no page here. Open the link you were given.")

    async def dispatch(request: Request) -> Response:
        parts = request.url.path.split("/")
        if len(parts) < 3 or parts[0] != "" or parts[1] != "a":
            return pages.refused(not_found)
        annotator = pages.annotator(parts[2])
        if annotator is None:
            return pages.refused(not_found)
        rest, method, base = parts[3:], request.method, f"/a/{annotator.token}"
        static = len(rest) == 2 and rest[0] == "static" and rest[1] in STATIC
        position = _position(rest, annotator)
        if rest == ["answer"]:
            if method != "POST":
                return Response(status_code=405, headers={**HEADERS, "Allow": "POST"})
            try:
                fields = await read_form(request)
                page, answers = pages.check_answers(annotator, fields, _session(request))
            except Refused as e:
                return pages.refused(e, annotator, back=base)
            await run_in_threadpool(pages.save, page, answers)
            nxt = await run_in_threadpool(pages.next_position, annotator, page.position)
            return RedirectResponse(f"{base}/{nxt}" if nxt else f"{base}/done", status_code=303, headers=HEADERS)
        if not (rest in ([], [""], ["done"]) or static or position is not None):
            return pages.refused(not_found)
        if method not in ("GET", "HEAD"):
            return Response(status_code=405, headers={**HEADERS, "Allow": "GET"})
        if static:
            return Response(pages.static[rest[1]], media_type=STATIC[rest[1]],
                            headers={**HEADERS, "Cache-Control": "private, max-age=3600"})
        if rest in ([], [""]):
            nxt = await run_in_threadpool(pages.next_position, annotator)
            return RedirectResponse(f"{base}/{nxt}" if nxt else f"{base}/done", status_code=303, headers=HEADERS)
        session = _session(request)
        fresh = session is None
        if fresh:
            session = secrets.token_urlsafe(16)
        if rest == ["done"]:
            answered = await run_in_threadpool(pages.answered, annotator)
            nxt = await run_in_threadpool(pages.next_position, annotator)
            response = pages.render("done.html", annotator=annotator.name, total=len(annotator.pages),
                                    left=len(annotator.pages) - len(answered), next=f"{base}/{nxt}" if nxt else None,
                                    static=_static_base(annotator), base=base)
        else:
            view = await run_in_threadpool(pages.page_view, annotator, position, session)
            response = pages.render("item.html", **view)
        if fresh:
            response.set_cookie(COOKIE, session, httponly=True, samesite="strict", path=base)
        return response

    return Starlette(routes=[Route("/{path:path}", dispatch, methods=METHODS)])


def _position(rest: list[str], annotator: Annotator) -> int | None:
    """Page N's position when `rest` is [N] and N is one of the annotator's pages."""
    if len(rest) == 1 and re.fullmatch(r"[1-9][0-9]{0,6}", rest[0]) and int(rest[0]) <= len(annotator.pages):
        return int(rest[0])
    return None
