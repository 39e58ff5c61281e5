"""Whether the Hugging Face Hub can be reached from here, asked once per process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_REACHABLE: dict[str, bool] = {}


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub's host opens within `timeout` seconds (asked once per process).

    Without this, huggingface_hub retries an unreachable hub for about 20
    seconds per file before giving up. With a proxy configured, the proxy
    decides, so the hub is taken as reachable.
    """
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlsplit(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    key = f"{host}:{port}"
    if key not in _REACHABLE:
        import socket

        try:
            socket.create_connection((host, port), timeout=timeout).close()
            _REACHABLE[key] = True
        except OSError:
            _REACHABLE[key] = False
    return _REACHABLE[key]


@contextmanager
def offline_when_unreachable() -> Iterator[bool]:
    """Within this block, `datasets` and huggingface_hub read only their caches when the hub cannot be reached.

    They would otherwise retry an unreachable hub for about 25 seconds before
    giving up; offline mode makes a cached dataset load at once and a missing
    one fail at once. Yields whether offline mode was switched on.
    """
    import datasets
    from huggingface_hub import constants

    saved = (datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE)
    switch = not (saved[0] or saved[1]) and not hub_reachable()
    if switch:
        datasets.config.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE = True
    try:
        yield switch
    finally:
        datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE = saved
