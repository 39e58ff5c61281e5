"""What the reader of docs/annotate.md has done before an example (the steps in its <!-- docs-test --> comments,
run by tests/helpers/console_examples.py): a summarization task of news articles, and a study answered as
annotators would answer it in the browser.

    python docs_setup.py news-task FOLDER N      a task `news` of N articles (the seed article's sentences,
                                                 each article starting further into it)
    python docs_setup.py answer STUDY            every page of a pairwise study answered by a fixed taste:
                                                 lead-3 over textrank over first-sentence, with ties and
                                                 changes of mind on some pages
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
TASTE = ("lead-3", "textrank", "first-sentence")


def news_task(folder: Path, n: int) -> None:
    text = (REPO / "fixtures" / "source" / "seed_article.txt").read_text(encoding="utf-8").splitlines()[3:]
    sentences = [s.strip() + "." for s in " ".join(text).split(". ") if s.strip()]
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(n):
        start = k % (len(sentences) - 6)
        body = sentences[start:] + sentences[:start]
        rows.append({"id": f"news-{k:03d}", "document": " ".join(body),
                     "references": ["\n".join(body[1:3])]})
    (folder / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (folder / "news.yaml").write_text("name: news\nversion: 1\ntype: summarization\nfixture: news.jsonl\n",
                                      encoding="utf-8")


def answer(study_file: Path) -> None:
    from bench.annotation.storage import connect, open_study, save_answers

    study = open_study(study_file)
    conn = connect(study_file)
    try:
        for annotator in study.annotators:
            for page in annotator.pages:
                item = study.items[page.item]
                a, b = study.systems[item.a], study.systems[item.b]
                better = a if TASTE.index(a) < TASTE.index(b) else b
                if (page.id + annotator.id) % 7 == 3:
                    better = b if better == a else a  # a change of mind
                left_is_a = not page.flipped
                side = "A" if (better == a) == left_is_a else "B"
                choice = "tie" if page.id % 5 == 0 else side
                save_answers(conn, page.id, {c.name: choice for c in study.criteria})
    finally:
        conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "news-task":
        news_task(Path(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1] == "answer":
        answer(Path(sys.argv[2]))
    else:
        raise SystemExit(__doc__)
