"""Hugging Face models: aliases, hub ids and local directories, found before anything loads.

`bench run --model distilbart` resolves the alias to its hub id; any other
hub id (``org/name``, with ``--revision``) or local model directory works too.
What kind of model it is, and so which tasks it can do, comes from its
``config.json``, read on its own (from the directory, or fetched alone into the
Hugging Face cache) so that a model that cannot do a task is refused, and a
model that is neither cached nor downloadable is reported, before any weights
load.

This module is on the command line's path (`bench list`, model resolution):
it never imports torch or transformers, and nothing of the modules that load
a model. `factory` turns what it finds into model specs; loading and
prediction live in `runtime` (devices, dtypes, batching), `generate` (seq2seq
and causal generation) and `qa` (extractive QA).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.hub import hub_reachable
from bench.io import IS_A_DIRECTORY, not_a_regular_file

SEQ2SEQ, CAUSAL_LM, EXTRACTIVE_QA = "seq2seq", "causal-lm", "extractive-qa"
HF_KINDS = (SEQ2SEQ, CAUSAL_LM, EXTRACTIVE_QA)

#: The task types each kind can do when nothing more is known about the model.
KIND_TASK_TYPES: Mapping[str, tuple[str, ...]] = {
    SEQ2SEQ: ("summarization",),
    CAUSAL_LM: ("summarization", "qa"),
    EXTRACTIVE_QA: ("qa",),
}


@dataclass(frozen=True)
class HFModelInfo:
    """What bench knows about a Hugging Face model before loading it."""

    name: str
    """The model's name in results: an alias or a hub id as given, or a local directory's resolved absolute path."""
    model_id: str
    """Hub id (``org/name``) or local directory path."""
    kind: str
    task_types: tuple[str, ...]
    description: str = ""
    prefix: str = ""
    """Prepended to a seq2seq model's input (T5's ``summarize: ``)."""
    prompted: bool = False
    """Seq2seq instruction models (FLAN-T5) get the task's prompt, not the bare document."""
    no_answer: bool = False
    """Extractive QA: abstain when the null score beats the best span (SQuAD 2.0 models)."""
    newline_token: str | None = None
    """A token the model writes for a line break (Pegasus writes ``<n>``)."""
    local: bool = False


def _alias(name: str, model_id: str, kind: str, description: str, task_types: tuple[str, ...] | None = None,
           **extra: Any) -> HFModelInfo:
    return HFModelInfo(name, model_id, kind, task_types or KIND_TASK_TYPES[kind], description, **extra)


#: Model aliases. Parameter counts and reported scores are from the model cards.
ALIASES: tuple[HFModelInfo, ...] = (
    _alias("distilbart", "sshleifer/distilbart-cnn-12-6", SEQ2SEQ,
           "DistilBART 12-6 fine-tuned on CNN/DailyMail (306M)"),
    _alias("distilbart-6-6", "sshleifer/distilbart-cnn-6-6", SEQ2SEQ,
           "DistilBART 6-6 fine-tuned on CNN/DailyMail (230M)"),
    _alias("distilbart-xsum", "sshleifer/distilbart-xsum-12-6", SEQ2SEQ,
           "DistilBART 12-6 fine-tuned on XSum: one-sentence summaries (306M)"),
    _alias("bart-large-cnn", "facebook/bart-large-cnn", SEQ2SEQ,
           "BART large fine-tuned on CNN/DailyMail (406M), the DistilBART teacher"),
    _alias("t5-small", "google-t5/t5-small", SEQ2SEQ,
           "T5 small (60M), multi-task; input prefixed with 'summarize: '", prefix="summarize: "),
    _alias("flan-t5-small", "google/flan-t5-small", SEQ2SEQ,
           "FLAN-T5 small (77M), instruction-tuned; prompted, also answers questions",
           ("summarization", "qa"), prompted=True),
    _alias("flan-t5-base", "google/flan-t5-base", SEQ2SEQ,
           "FLAN-T5 base (248M), instruction-tuned; prompted, also answers questions",
           ("summarization", "qa"), prompted=True),
    _alias("pegasus-cnn", "google/pegasus-cnn_dailymail", SEQ2SEQ,
           "PEGASUS large fine-tuned on CNN/DailyMail (568M)", newline_token="<n>"),
    _alias("distilbert-squad", "distilbert/distilbert-base-cased-distilled-squad", EXTRACTIVE_QA,
           "DistilBERT base cased distilled on SQuAD v1.1 (65M); always answers"),
    _alias("roberta-squad2", "deepset/roberta-base-squad2", EXTRACTIVE_QA,
           "RoBERTa base fine-tuned on SQuAD 2.0 (124M); abstains on the null score", no_answer=True),
    _alias("qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B-Instruct", CAUSAL_LM,
           "Qwen2.5 0.5B Instruct (494M), prompted through its chat template"),
)


def local_fingerprint(path: Path) -> str:
    """sha256 of config.json and the name, size and mtime of every file beside it."""
    import hashlib

    digest = hashlib.sha256((path / "config.json").read_bytes())
    for f in sorted(path.iterdir()):
        if f.is_file():
            st = f.stat()
            digest.update(f"\0{f.name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------ names


_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")


def info_for(name: str, revision: str | None = None) -> HFModelInfo | None:
    """What a hub id or local directory is; None when `name` is neither (an unknown name).

    Reads the model's config.json (fetching it alone if needed) to learn its
    kind, so this raises a BenchError when the model is unavailable.
    """
    path = Path(name).expanduser()
    if not_a_regular_file(path) == IS_A_DIRECTORY:
        # One directory, one model: ./m, /abs/m, m/ and a symlink to it are all named by the resolved path.
        config = read_local_config(path)
        canonical = str(path.resolve())
        return info_from_config(canonical, canonical, config, local=True)
    if name.startswith(("/", "./", "../", "~")) or (name.count("/") > 1 and not name.startswith("http")):
        raise BenchError(f"model directory not found: {name}",
                         hint="pass a directory written by save_pretrained (with a config.json), or a hub id org/name")
    if not _HUB_ID.match(name):
        return None
    located = locate(name, revision)
    return info_from_config(name, name, located.config)


def read_local_config(path: Path) -> dict[str, Any]:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise BenchError(f"{path} has no config.json, so it is not a transformers model directory",
                         hint="pass a directory written by save_pretrained, or a hub id org/name")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BenchError(f"cannot read the model's config.json: {e}", where=config_file) from None
    if not isinstance(config, dict):
        raise BenchError("config.json is not a JSON object", where=config_file)
    return config


def kind_from_config(config: Mapping[str, Any]) -> str | None:
    """seq2seq (encoder-decoder), extractive-qa (a question-answering head) or causal-lm; None if none of them."""
    architectures = [str(a) for a in config.get("architectures") or []]
    if any(a.endswith("ForQuestionAnswering") for a in architectures):
        return EXTRACTIVE_QA
    if config.get("is_encoder_decoder"):
        return SEQ2SEQ
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        return CAUSAL_LM
    return None


def info_from_config(name: str, model_id: str, config: Mapping[str, Any], local: bool = False) -> HFModelInfo:
    kind = kind_from_config(config)
    if kind is None:
        raise BenchError(
            f"cannot tell what kind of model {name!r} is from its config "
            f"(model_type {config.get('model_type')!r}, architectures {config.get('architectures')})",
            hint="bench runs encoder-decoder models (summarization), causal LMs (summarization and QA, prompted) "
                 "and models with a question-answering head (extractive QA)",
        )
    prefix = ""
    if kind == SEQ2SEQ:
        params = (config.get("task_specific_params") or {}).get("summarization") or {}
        prefix = str(params.get("prefix") or "")
    archs = ", ".join(config.get("architectures") or []) or str(config.get("model_type", ""))
    return HFModelInfo(name, model_id, kind, KIND_TASK_TYPES[kind], archs, prefix=prefix, local=local)


# ------------------------------------------------------- finding the files


@dataclass(frozen=True)
class Located:
    """Where a model's files are: a local directory, or a hub id at a commit in the cache."""

    model_id: str
    config: dict[str, Any]
    commit: str | None
    """The resolved commit hash of a hub model (None for a local directory)."""
    offline: bool


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) asks for no network at all."""
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - then nothing can be downloaded anyway
        return True
    env = any(os.environ.get(v, "").strip().upper() in ("1", "ON", "YES", "TRUE")
              for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return bool(constants.HF_HUB_OFFLINE) or env


def locate(model_id: str, revision: str | None = None, alias: str | None = None) -> Located:
    """Find a hub model's config.json in the cache, or fetch it alone; raises the offline error.

    When the hub cannot be reached, only the cache is read (as with
    HF_HUB_OFFLINE), so a cached model loads at once and a missing one fails at once.
    """
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise BenchError(f"model {model_id!r} is a Hugging Face model, and the Hugging Face libraries are not "
                         "installed", hint="pip install 'bench[hf]'", exit_code=EXIT_ENVIRONMENT) from None

    offline = hub_offline()
    local_only = offline or not hub_reachable()
    try:
        path = Path(hf_hub_download(model_id, "config.json", revision=revision, local_files_only=local_only))
    except Exception as e:  # noqa: BLE001 - every hub failure becomes one message
        raise hub_error(model_id, revision, e, offline, alias) from None
    config = read_local_config(path.parent)
    commit = path.parent.name if path.parent.parent.name == "snapshots" else None
    return Located(model_id, config, commit, local_only)


def hub_error(model_id: str, revision: str | None, e: BaseException, offline: bool,
              alias: str | None = None) -> BenchError:
    """One user-facing message for a hub failure: what is missing and the ways out."""
    from huggingface_hub import constants, errors

    at = f" at revision {revision!r}" if revision else ""
    if alias and alias != model_id:
        at = f" (alias {alias}){at}"
    if isinstance(e, errors.GatedRepoError):
        return BenchError(f"model {model_id!r} is gated on the Hugging Face Hub", exit_code=EXIT_ENVIRONMENT,
                          hint="accept its license on the model's page, then log in with `hf auth login`")
    if isinstance(e, errors.RepositoryNotFoundError):
        return BenchError(f"model {model_id!r} does not exist on the Hugging Face Hub (or is private)",
                          exit_code=EXIT_ENVIRONMENT,
                          hint="check the id (org/name); for a private model log in with `hf auth login`")
    if isinstance(e, errors.RemoteEntryNotFoundError):
        return BenchError(f"model {model_id!r}{at} has no config.json on the hub, so it is not a transformers model",
                          exit_code=EXIT_ENVIRONMENT)
    if isinstance(e, errors.RevisionNotFoundError):
        return BenchError(f"model {model_id!r} has no revision {revision!r}",
                          hint="pass a branch, tag or commit hash that exists to --revision")
    if isinstance(e, (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled, OSError, ConnectionError)) \
            or "connect" in str(e).lower():
        why = "HF_HUB_OFFLINE is set" if offline else "the Hugging Face Hub cannot be reached"
        return BenchError(
            f"model {model_id!r}{at} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
            f"and cannot be downloaded: {why}",
            exit_code=EXIT_ENVIRONMENT,
            hint=f"download it where the hub is reachable (`hf download {model_id}`) and copy the cache "
                 f"directory here (or point HF_HOME at it), or save the model with save_pretrained and pass "
                 f"that directory: --model /path/to/model"
                 + ("; if this machine can reach the hub, unset HF_HUB_OFFLINE" if offline else ""),
        )
    return BenchError(f"cannot fetch model {model_id!r}{at}: {str(e).splitlines()[0] if str(e) else type(e).__name__}",
                      exit_code=EXIT_ENVIRONMENT)
