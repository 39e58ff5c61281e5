"""Every console example of README.md and docs/*.md runs and prints what its page shows
(tests/helpers/console_examples.py says how, docs/development.md how to write one)."""

from __future__ import annotations

import pytest
from conftest import REPO

from console_examples import Block, PageSession, is_slow, page_blocks, page_name, pages, \
    transcripts_outside_console_blocks

PAGES = pages(REPO)
BLOCKS: dict[str, list[Block]] = {page_name(p): page_blocks(p) for p in PAGES}


def _params():
    for blocks in BLOCKS.values():
        for block in blocks:
            marks = [pytest.mark.slow] if is_slow(blocks, block) else []
            yield pytest.param(block, id=block.id, marks=marks)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    made: dict[str, PageSession] = {}

    def session(block: Block) -> PageSession:
        name = page_name(block.page)
        if name not in made:
            made[name] = PageSession(block.page, tmp_path_factory.mktemp(name.replace("/", "-")))
        return made[name]

    return session


@pytest.mark.parametrize("block", list(_params()))
def test_console_example(block, sessions, monkeypatch):
    for name in ("FORCE_COLOR", "COLUMNS", "BENCH_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    session = sessions(block)
    outcome = session.outcome(block)
    earlier = session.earlier_failures(block)
    if outcome.problems:
        note = f"\n(earlier examples of this page failed too: {', '.join(earlier)})" if earlier else ""
        pytest.fail("\n\n".join(outcome.problems) + note, pytrace=False)
    if outcome.skipped and len(outcome.skipped) == len([c for c in block.commands if c.text]):
        pytest.skip("; ".join(outcome.skipped))


def test_every_transcript_is_a_console_block():
    """A `$ command` shown in a block that is not marked `console` would never be run."""
    found = {page_name(p): lines for p in PAGES if (lines := transcripts_outside_console_blocks(p))}
    assert not found, f"`$ ...` lines outside ```console blocks (page: lines): {found}"


def test_every_console_block_shows_a_command_and_says_why_one_is_not_run():
    for name, blocks in BLOCKS.items():
        for block in blocks:
            assert any(c.text for c in block.commands), f"{block.id}: a console block with no `$ command`"
            for command in block.commands:
                assert command.not_tested is None or len(command.not_tested) >= 10, \
                    f"{name}:{command.line}: say why it is not tested"
