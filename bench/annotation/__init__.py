"""Human evaluation in the browser: `bench annotate new | serve | status | export`.

A *study* (one SQLite file, `storage.py`) holds a sample of documents, each
system's summary of them, the criteria (`criteria.py`), who rates what in which
order (`design.py`, seeded), and every answer. `creation.py` makes one from runs;
`webapp.py` and `server.py` serve the rating pages (the ``annotate`` extra:
Starlette, uvicorn, Jinja2); `analysis.py` computes agreement and each system's
results; `export.py` writes the ratings `bench correlate` reads.

Importing this package imports none of the web stack.
"""
