"""One store for everything bench must never pay for twice: a content-keyed SQLite database (WAL mode) per cache
directory, each cache a namespace in it.

- `bench.cache.database`: the store (`open_store`): checksummed entries, damage moved aside and rebuilt, a locked
  or unwritable store given up with one warning, claims shared between processes;
- `bench.cache.tables`: the caches: `Predictions`, `Replies` (the judge's), `Pairs` (SummaC's);
- `bench.cache.token_table`: `TokenCache` (the extractiveness metric's spaCy tokens);
- `bench.cache.keys`: content keys; `bench.cache.legacy`: the formats before the store, read once;
  `bench.cache.safe_files`: regular files only, bounded reads; `bench.cache.claims`: which processes are alive.

A low floor: imports nothing from bench's pipeline stages (only `bench.errors` and `bench.version`), and
nothing heavy at import (sqlite3 is imported by `bench.cache.database`, when a store is opened).
"""
