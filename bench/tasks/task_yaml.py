"""Reading a task definition file: bounded UTF-8 text, and YAML read safely (no key given twice, no anchors or
aliases, bounded nesting), with file:line in every message."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.errors import BenchError, relpath
from bench.io import not_a_regular_file

#: Largest task definition read (YAML parsing is slow on megabytes; the data belongs in the fixture).
MAX_TASK_FILE = 1 << 20


def read_task_text(path: Path) -> str:
    """The text of a task definition file: UTF-8, at most `MAX_TASK_FILE` bytes."""
    where = relpath(path)
    problem = not_a_regular_file(path)
    if problem:
        raise BenchError(f"cannot read task definition: {problem}", where=where,
                         hint="a task definition is a regular YAML file")
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_TASK_FILE:
            raise BenchError(f"task definition is {len(raw) / 2**20:.1f} MiB; a task definition is a short YAML file",
                             where=where, hint="put the examples in the fixture file the task names")
        return raw.decode("utf-8")
    except OSError as e:
        raise BenchError(f"cannot read task definition: {e.strerror}", where=where) from None
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise BenchError(f"task definition is not valid UTF-8 (byte {raw[e.start]:#04x})", where=f"{where}:{line}",
                         hint="re-encode the file as UTF-8") from None


#: Deepest nesting of lists and mappings in a task definition (a real one nests three levels).
MAX_YAML_DEPTH = 50


class AliasRefused(Exception):
    """An anchor (``&a``), an alias (``*a``) or nesting deeper than `MAX_YAML_DEPTH` in a task definition.

    `kind` says which, `mark` is where it starts.
    """

    def __init__(self, kind: str, mark: Any) -> None:
        super().__init__(kind)
        self.kind = kind
        self.mark = mark


def _task_loader(text: str) -> Any:
    """A SafeLoader over `text` that refuses anchors and aliases and a key given twice in one mapping.

    Anchors and aliases are refused as the composer meets them, before any node is
    built: a few hundred bytes of nested aliases (a "billion laughs" file) would
    otherwise expand to gigabytes. A task definition is short; it never needs them.
    Nesting deeper than `MAX_YAML_DEPTH` is refused the same way (it would exhaust
    Python's recursion limit).
    """
    import yaml

    class TaskLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                raise AliasRefused(f"alias *{event.anchor}", event.start_mark)
            if getattr(event, "anchor", None) is not None:
                raise AliasRefused(f"anchor &{event.anchor}", event.start_mark)
            if self.depth >= MAX_YAML_DEPTH:
                raise AliasRefused(f"nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line)
            except TypeError:  # an unhashable key: SafeLoader reports it
                continue
            if first != key_node.start_mark.line:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (first on line {first + 1}); keep one",
                    key_node.start_mark)
        return loader.construct_mapping(node, deep=True)

    TaskLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return TaskLoader(text)


def safe_load_unique_keys(text: str) -> Any:
    """`yaml.safe_load`, except that a key given twice is an error and anchors and aliases are refused.

    A surrogate pair written as two escapes (``"\\ud83d\\ude00"``, which PyYAML keeps as two halves)
    becomes the one character it stands for, as in JSON; a half alone is left for `load_task` to refuse.
    """
    loader = _task_loader(text)
    try:
        return _join_surrogate_pairs(loader.get_single_data())
    finally:
        loader.dispose()


_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _join_surrogate_pairs(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE_PAIR.sub(lambda m: m.group().encode("utf-16-le", "surrogatepass").decode("utf-16-le"),
                                   value)
    if isinstance(value, dict):
        return {_join_surrogate_pairs(k): _join_surrogate_pairs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_join_surrogate_pairs(v) for v in value]
    return value


def parse_task_yaml(text: str, where: str) -> dict[Any, Any]:
    """The YAML mapping of a task definition (safe loader, no key given twice); `where` names the file."""
    import yaml

    try:
        spec = safe_load_unique_keys(text)
    except AliasRefused as e:
        if e.kind.startswith("nested"):
            raise BenchError(f"invalid YAML: {e.kind}", where=f"{where}:{e.mark.line + 1}",
                             hint="a task definition is a short mapping of settings; "
                                  "put data in the fixture file") from None
        raise BenchError(f"invalid YAML: {e.kind}: a task definition has no anchors (&name) or aliases (*name)",
                         where=f"{where}:{e.mark.line + 1}",
                         hint="write each value out in full where it is used") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        loc = f"{where}:{mark.line + 1}" if mark else where
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        hint = ("a task definition is data: tags that make Python objects (!!python/...) are refused"
                if "python/" in problem else "indent with spaces, not tabs" if "\\t" in problem else
                "check the indentation and quoting on this line (quote a value that holds ': ' or starts with "
                "a special character)" if "key" not in problem else None)
        raise BenchError(f"invalid YAML: {problem}", where=loc, hint=hint) from None
    if not isinstance(spec, dict):
        raise BenchError("a task definition must be a YAML mapping (key: value lines)", where=where,
                         hint="e.g. name: my-task, version: 1, type: summarization, fixture: my_task.jsonl, "
                              "one per line")
    return spec
