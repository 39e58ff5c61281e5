"""Content keys: what a cached value is filed under is a digest of everything it depends on; and the checksum
every entry of the store carries (`bench.cache.database`).

Imports nothing from bench.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def identity_key(identity: Mapping[str, Any]) -> str:
    """32 hex digits of the SHA-256 of `identity` as sorted JSON: the group of a prediction cache or a judge."""
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content_key(*parts: str) -> str:
    """The SHA-256 (hex) of `parts`, each prefixed by its length, so that no two lists of parts share a key."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _framed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(8, "little") + p for p in parts)


def checksum(ns: str, grp: str, key: bytes, value: bytes, writer: str) -> bytes:
    """BLAKE2b-128 of the five, each prefixed by its length."""
    return Checksums(ns, grp, writer)(key, value)


class Checksums:
    """`checksum` for many entries of one namespace, group and writer (their part hashed once)."""

    def __init__(self, ns: str, grp: str, writer: str) -> None:
        self.base = hashlib.blake2b(_framed(ns.encode(), grp.encode("utf-8", "surrogatepass"),
                                            writer.encode("utf-8", "surrogatepass")), digest_size=16,
                                    person=b"bench-cache")

    def __call__(self, key: bytes, value: bytes) -> bytes:
        digest = self.base.copy()
        digest.update(_framed(key, value))
        return digest.digest()
