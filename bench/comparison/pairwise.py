"""`bench compare --judge`: which of two summaries is better, asked of an LLM judge in both orders, and the
preferences of annotators (`--human`), on the runs of one task.

For each criterion, each pair of models (every pair, or each model against
`--baseline`) and each example both runs have, the judge reads the document and
the two summaries (`judge_pairwise_prompts.yaml`) and answers A, B or C (a tie);
then again with the summaries swapped. A verdict is read by
`bench.metrics.model_based.judge_verdicts` (weighted by the judge's token
probabilities where it gives them). The two orders make one outcome for the
pair: when they agree, the winner's (1 or 0; weighted, the mean over the two
orders of P(win) + P(tie)/2, above one half for the winner), a tie 0.5; when
they disagree, a tie, and the pair counts as position-inconsistent. A pair with
an order whose replies hold no verdict is not judged (counted, never guessed).

The judge is the `judge:` metric's (`bench.metrics.model_based.judge_backends`:
a model behind an OpenAI-compatible server, or a local causal LM), its options
the metric's (`--judge-opt KEY=VALUE`), and its replies are cached as the metric
caches them (`bench.metrics.model_based.judge.cached_replies`: the judge's
identity, the filled prompt, which holds the rubric, the document and the two
summaries in their order, and the sample number), in the results directory's
metric cache: a rerun, an added model or a resumed run asks only for new pairs.

The preferences are aggregated by `bench.comparison.pairwise_aggregate`, the
annotators' as the judge's (`bench.comparison.pairwise_human`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from bench.comparison.pairwise_aggregate import (EVEN, FIRST, JUDGE, SECOND, Aggregate, Outcome, Preferences, Shown,
                                                 aggregate, agreement, words)
from bench.errors import EXIT_ENVIRONMENT, BenchError, clip, relpath
from bench.registry import did_you_mean

#: Examples where the judge and ROUGE disagree most, shown in the HTML report when --examples does not say.
DISAGREEMENTS = 10


# ------------------------------------------------------------------ options


def parse_judge_options(opts: Sequence[str]) -> dict[str, str]:
    """``--judge-opt KEY=VALUE`` (repeatable) as ``{KEY: VALUE}``."""
    out: dict[str, str] = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BenchError(f"--judge-opt {opt!r} is not KEY=VALUE", hint="e.g. --judge-opt base_url=http://HOST:PORT")
        if key in out and out[key] != value:
            raise BenchError(f"--judge-opt {key} is given twice, as {out[key]!r} and {value!r}",
                             hint="give each option once")
        out[key] = value
    return out


def judge_option(key: str) -> str:
    """How messages name an option of the pairwise judge."""
    return "--judge" if key == "model" else f"--judge-opt {key}"


def judge_settings(model: str, options: Mapping[str, Any]) -> Any:
    """The judge's `JudgeOptions`: `model` (--judge) and `options` (--judge-opt), converted and checked."""
    from bench.metrics.metric_options import convert_option
    from bench.metrics.model_based.judge import JudgeOptions, check_judge_settings

    known = [f.name for f in fields(JudgeOptions)]
    hints = get_type_hints(JudgeOptions)
    values: dict[str, Any] = {"model": model}
    for key, value in options.items():
        if key == "model":
            raise BenchError("--judge-opt model: the judge is given by --judge", hint="e.g. --judge openai:NAME")
        if key not in known:
            raise BenchError(f"the judge has no option {key!r}.{did_you_mean(key, known)}",
                             hint=f"--judge-opt keys: {', '.join(k for k in known if k != 'model')}")
        try:
            values[key] = convert_option("judge", key, value, hints[key])
        except BenchError as e:
            raise BenchError(f"--judge-opt {key}: {e.message.partition(': ')[2] or e.message}",
                             hint=f"e.g. --judge-opt {key}=VALUE") from None
    settings = JudgeOptions(**values)
    check_judge_settings(settings, "--judge")
    return settings


# ------------------------------------------------------------------ the runs


@dataclass(frozen=True)
class Compared:
    """The runs compared pairwise: one per model, their predictions, the pairs and the examples of each pair."""

    task: str
    models: tuple[str, ...]
    runs: Mapping[str, Any]
    predictions: Mapping[str, Mapping[str, Any]]
    """Model -> example id -> `bench.comparison.flips.Prediction`."""
    pairs: tuple[tuple[str, str], ...]
    shared: Mapping[tuple[str, str], tuple[str, ...]]
    """Each pair's examples, in the order of the first model's predictions."""

    def lengths(self) -> dict[tuple[str, str], int]:
        return {(m, i): words(p.prediction) for m, ps in self.predictions.items() for i, p in ps.items()}


def compared_runs(results_dirs: Sequence[Path], task: str, models: Sequence[str], baseline: str | None,
                  task_hash: str | None) -> Compared:
    """The latest run of each model on `task` (of `task_hash`, when the judge reads the task's documents)."""
    from bench.comparison.flips import read_predictions
    from bench.comparison.select import collect_runs, filter_runs
    from bench.results.store import slug

    runs = filter_runs(collect_runs(list(results_dirs)), tasks=[task], models=models)
    latest: dict[str, Any] = {}
    other_hash: dict[str, Any] = {}
    for r in runs:
        keep = latest if task_hash is None or r.task_hash == task_hash else other_hash
        if r.model not in keep or r.order > keep[r.model].order:
            keep[r.model] = r
    for model, r in sorted(other_hash.items()):
        if model not in latest:
            raise BenchError(f"the runs of {model!r} were made on another version of task {task!r} (task hash "
                             f"{r.task_hash[:12]}, now {str(task_hash)[:12]}): the judge would read other documents "
                             "than those summarized", where=relpath(r.path),
                             hint=f"run {model!r} again on the task as it is now, or leave it out (--model)")
    names = sorted(latest)
    if len(names) < 2:
        raise BenchError(f"a pairwise comparison needs runs of two models or more on task {task!r}; "
                         f"{'only ' + repr(names[0]) + ' has one' if names else 'none has one'}",
                         hint="run another model on the task first")
    if baseline is not None:
        found = [m for m in names if baseline in (m, slug(m))]
        if not found:
            raise BenchError(f"--baseline {baseline!r} has no run of task {task!r}.{did_you_mean(baseline, names)}",
                             hint=f"models with runs: {', '.join(names)}")
        base = found[0]
        pairs = tuple((base, m) for m in names if m != base)
    else:
        pairs = tuple((a, b) for k, a in enumerate(names) for b in names[k + 1:])
    predictions = {m: read_predictions(latest[m].path, latest[m]) for m in names}
    shared = {(a, b): tuple(i for i in predictions[a] if i in predictions[b]) for a, b in pairs}
    return Compared(task, tuple(names), latest, predictions, pairs, shared)


# ------------------------------------------------------------------ the judge


@dataclass(frozen=True)
class JudgeRun:
    """What asking the judge gave: its preferences and how many replies it took."""

    preferences: Preferences
    asked: int
    cached: int


def _orders(values: Sequence[str], weighted: bool) -> list[Any]:
    from bench.metrics.model_based.judge_verdicts import read_verdict

    return [read_verdict(v, weighted) for v in values]


def _pair_outcome(criterion: str, i: str, x: str, y: str, one: list[Any],
                  two: list[Any]) -> tuple[Outcome, list[Shown]]:
    """The outcome of pair (x, y) on example i from its verdicts with x shown first (`one`) and y first (`two`)."""
    from bench.metrics.model_based.judge_verdicts import A, B, TIE, most_likely, order_distribution

    q1, q2 = order_distribution(one), order_distribution(two)
    orders = [{"first": first, "verdict": None if q is None else most_likely(q), "p": q,
               "replies": [{"reply": v.reply, "verdict": v.verdict} for v in vs]}
              for first, q, vs in ((x, q1, one), (y, q2, two))]
    shown = [Shown(criterion, i, first, second, {A: FIRST, B: SECOND, TIE: EVEN}[o["verdict"]])
             for o, (first, second) in zip(orders, ((x, y), (y, x))) if o["verdict"] is not None]
    if q1 is None or q2 is None:
        return Outcome(criterion, i, x, y, None, None, {"orders": orders}), shown
    side1 = {A: 1, B: -1, TIE: 0}[orders[0]["verdict"]]
    side2 = {A: -1, B: 1, TIE: 0}[orders[1]["verdict"]]
    if side1 != side2:
        value = 0.5
    elif side1 == 0:
        value = 0.5
    else:  # the winner's probability of winning, a tie counted half, over the two orders
        value = ((q1[A] + q1[TIE] / 2) + (q2[B] + q2[TIE] / 2)) / 2
    return Outcome(criterion, i, x, y, value, side1 == side2, {"orders": orders}), shown


def judge_templates(settings: Any, criteria: Sequence[str]) -> dict[str, str]:
    """The judge's prompt of each criterion (--judge-opt prompt or prompt_file, else the bundled one), checked."""
    from bench.metrics.model_based.judge import read_template
    from bench.metrics.model_based.judge_verdicts import PAIR_PLACEHOLDERS, default_pairwise_prompts

    bundled = default_pairwise_prompts()
    for c in criteria:
        if c not in bundled:
            raise BenchError(f"unknown criterion {c!r} for the judge.{did_you_mean(c, list(bundled))}",
                             hint=f"--criterion: {', '.join(bundled)}")
    return {c: read_template(settings, "--judge", c, bundled, PAIR_PLACEHOLDERS)[0] for c in criteria}


def ask_judge(judge: Any, compared: Compared, settings: Any, criteria: Sequence[str], documents: Mapping[str, str],
              cache_dir: Path | None) -> JudgeRun:
    """Ask `judge` (`open_judge`) about every pair of `compared` on every criterion, both orders (the cached
    replies reused), and read its verdicts."""
    from bench.metrics.model_based.judge import cached_replies, judge_signature
    from bench.metrics.model_based.judge_scoring import FIRST_NUMBER, WEIGHTED
    from bench.metrics.model_based.judge_verdicts import VERDICT_RULE

    templates = judge_templates(settings, criteria)
    weighted = settings.scoring == WEIGHTED
    outcomes: list[Outcome] = []
    shown: list[Shown] = []
    signatures: dict[str, str] = {}
    notes: list[str] = []
    total = unparsed = bare = as_written = 0
    for c in criteria:
        items, where = [], []
        for x, y in compared.pairs:
            for i in compared.shared[(x, y)]:
                sx, sy = compared.predictions[x][i].prediction, compared.predictions[y][i].prediction
                items += [(documents[i], sx, sy), (documents[i], sy, sx)]
                where.append((x, y, i))
        values = cached_replies(judge, cache_dir, templates[c], items, settings.n, weighted)
        read = [_orders(v, weighted) for v in values]
        flat = [v for row in read for v in row]
        if flat and all(v.verdict is None for v in flat):
            shown_replies = "; ".join(repr(clip(v.reply, 80)) for v in flat[:3])
            raise BenchError(f"no reply of the judge names a better summary (A, B, or C for a tie) on {c}, for "
                             f"any of the {len(where)} pairs of summaries (replies: {shown_replies})",
                             hint="check the judge model and its prompt; its replies are cached, so fixing the "
                                  "prompt or the model asks again only what changed", exit_code=EXIT_ENVIRONMENT)
        total += len(flat)
        unparsed += sum(v.verdict is None for v in flat)
        bare += sum(v.without_logprobs for v in flat)
        as_written += sum(v.rule == FIRST_NUMBER and not v.without_logprobs for v in flat)
        for k, (x, y, i) in enumerate(where):
            outcome, seen = _pair_outcome(c, i, x, y, read[2 * k], read[2 * k + 1])
            outcomes.append(outcome)
            shown.extend(seen)
        rules = {v.rule for v in flat if v.rule is not None}
        signatures[c] = judge_signature(f"pairwise_{c}", judge.label, settings, templates[c], VERDICT_RULE, rules,
                                        extra=(("swap", "both"),))
    notes += judge.warnings()
    asked = judge.requests
    unjudged = sum(o.value is None for o in outcomes)
    if unparsed:
        notes.append(f"judge: {unparsed} of {total} replies name no better summary (A, B, or C for a tie); "
                     f"{unjudged} of {len(outcomes)} pairs of summaries are left unjudged (an order without a "
                     "verdict), never guessed")
    parsed = total - unparsed
    if weighted and bare and bare == parsed:
        notes.append("judge: the server returned no token log-probabilities, so each verdict is the one written, "
                     "not weighted by its probability (signature without scoring:weighted); pass "
                     "--judge-opt scoring=first-number to say this is what you want")
    elif weighted and (bare or as_written):
        notes.append(f"judge: {bare + as_written} of {parsed} verdicts count as written, not weighted by "
                     f"probabilities ({bare} came without log-probabilities, {as_written} write their verdict in a "
                     "token that is not the letter alone); the signature says scoring:mixed")
    if settings.n > 1 and settings.temperature == 0:
        notes.append(f"judge: {settings.n} samples at temperature 0 are {settings.n} greedy replies; set "
                     "--judge-opt temperature above 0 to sample")
    if cache_dir is None:
        notes.append("judge: replies are not cached")
    prefs = Preferences(JUDGE, judge.label, tuple(criteria), tuple(outcomes), tuple(shown), signatures=signatures,
                        notes=tuple(notes), counts={"replies": total, "asked": asked, "cached": total - asked,
                                                     "unparsable": unparsed, "unjudged": unjudged})
    return JudgeRun(prefs, asked, total - asked)


def task_documents(task: str, tasks_dirs: Sequence[Path]) -> tuple[str, dict[str, str]]:
    """(the task's content hash, example id -> its document) of `task` as it is now."""
    from bench.tasks.discovery import resolve_tasks
    from bench.tasks.examples import load_examples

    (the_task,) = resolve_tasks([task], list(tasks_dirs))
    if the_task.type != "summarization":
        raise BenchError(f"task {the_task.name!r} is a {the_task.type} task; the pairwise judge compares summaries",
                         hint="choose a summarization task")
    loaded, examples = load_examples(the_task)
    return loaded.hash, {ex.id: ex.input for ex in examples}


# ------------------------------------------------------------------ the report


@dataclass(frozen=True)
class PairwiseReport:
    """Everything `bench compare` shows of the pairwise comparison, JSON-ready."""

    task: str
    models: tuple[str, ...]
    runs: Mapping[str, str]
    """Model -> the id of its run compared."""
    aggregates: tuple[Aggregate, ...]
    """The judge's, then the annotators'."""
    signatures: Mapping[str, str]
    agreement: list[dict[str, Any]] | None
    verdicts: list[dict[str, Any]]
    disagreements: list[dict[str, Any]]
    """The judge's verdicts that ROUGE (`disagreement_metric`) contradicts most, for the HTML report."""
    disagreement_metric: str | None
    notes: list[str] = field(default_factory=list)
    counts: Mapping[str, int] = field(default_factory=dict)
    judge: str | None = None
    human: str | None = None

    def as_json(self) -> dict[str, Any]:
        judge = next((a for a in self.aggregates if a.source == JUDGE), None)
        human = next((a for a in self.aggregates if a.source != JUDGE), None)
        return {"task": self.task, "models": list(self.models), "run_ids": dict(self.runs),
                "pairwise": [r for a in self.aggregates for r in a.pairwise],
                "bradley_terry": [r for a in self.aggregates for r in a.bradley_terry],
                "judge": None if judge is None else {"model": self.judge, **judge.diagnostics},
                "human": None if human is None else {"source": self.human, **human.diagnostics},
                "agreement": self.agreement, "signatures": dict(self.signatures), "counts": dict(self.counts),
                "verdicts": self.verdicts, "notes": self.notes}


def _disagreements(prefs: Preferences, compared: Compared, metric: str | None, k: int) -> list[dict[str, Any]]:
    """The `k` decisive judge verdicts whose pair `metric` (per example) ranks the other way by the widest margin."""
    if metric is None or k <= 0:
        return []
    found = []
    for o in prefs.outcomes:
        if o.value is None or o.value == 0.5:
            continue
        a, b = compared.predictions[o.model][o.id], compared.predictions[o.opponent][o.id]
        if metric not in a.scores or metric not in b.scores:
            continue
        diff = a.scores[metric] - b.scores[metric]
        if diff and (diff > 0) != (o.value > 0.5):
            found.append((abs(diff), o, a, b))
    found.sort(key=lambda t: (-t[0], t[1].criterion, t[1].id, t[1].model, t[1].opponent))
    return [{"criterion": o.criterion, "id": o.id, "model": o.model, "opponent": o.opponent, "outcome": o.value,
             "metric": metric, "score": a.scores[metric], "opponent_score": b.scores[metric],
             "summary": a.prediction, "opponent_summary": b.prediction, "orders": o.detail.get("orders", [])}
            for _, o, a, b in found[:k]]


def disagreement_metric(compared: Compared, asked: Sequence[str]) -> str | None:
    """The per-example score the judge is set against: the first asked metric every run has per example, else
    the first ROUGE score."""
    have = [m for m in dict.fromkeys(m for ps in compared.predictions.values() for p in ps.values() for m in p.scores)
            if all(any(m in p.scores for p in ps.values()) for ps in compared.predictions.values())]
    return next((m for m in asked if m in have), next((m for m in have if m.startswith("rouge")), None))


def pairwise_report(results_dirs: Sequence[Path], *, task: str, models: Sequence[str] = (),
                    baseline: str | None = None, judge: str | None = None,
                    judge_options: Mapping[str, str] | None = None,
                    criteria: Sequence[str] = (), human: Path | None = None, tasks_dirs: Sequence[Path] = (),
                    metrics: Sequence[str] = (), examples: int = DISAGREEMENTS, seed: int) -> PairwiseReport:
    """The pairwise comparison of the latest runs of each model on `task`: the `judge`'s (with `judge_options`)
    on `criteria`, and/or the annotators' of `human` (on `criteria`, or every criterion they judged). Everything
    is checked, and a server judge reached, before the runs are read."""
    from bench.metrics.model_based.judge_backends import make_judge
    from bench.metrics.model_based.judge_verdicts import VerdictReader

    criteria = list(dict.fromkeys(criteria))
    if judge is None:
        return _report(results_dirs, task, models, baseline, None, None, criteria, human, tasks_dirs, metrics,
                       examples, seed)
    settings = judge_settings(judge, judge_options or {})
    if not criteria and human is None:
        raise BenchError("--judge needs --criterion: what the judge compares the summaries on",
                         hint="e.g. --criterion consistency (consistency, relevance, coherence or fluency)")
    judge_templates(settings, criteria)
    opened = make_judge(settings, "--judge", VerdictReader(), option=judge_option)
    try:
        return _report(results_dirs, task, models, baseline, settings, opened, criteria, human, tasks_dirs, metrics,
                       examples, seed)
    finally:
        opened.close()


def _report(results_dirs: Sequence[Path], task: str, models: Sequence[str], baseline: str | None, settings: Any,
            judge: Any, criteria: list[str], human: Path | None, tasks_dirs: Sequence[Path], metrics: Sequence[str],
            examples: int, seed: int) -> PairwiseReport:
    from bench.execution.cache import metrics_cache_dir
    from bench.results.store import results_dir_of

    documents: dict[str, str] = {}
    task_hash = None
    if judge is not None:
        task_hash, documents = task_documents(task, tasks_dirs)
    compared = compared_runs(results_dirs, task, models, baseline, task_hash)
    human_prefs = None
    if human is not None:
        from bench.comparison.pairwise_human import human_preferences

        human_prefs = human_preferences(human, compared.predictions, criteria)
    if judge is not None and not criteria and human_prefs is not None:
        criteria = list(human_prefs.criteria)
    lengths = compared.lengths()
    aggregates, notes, counts, signatures = [], [], {}, {}
    judge_prefs = None
    if judge is not None:
        cache_dir = (Path(settings.cache_dir).expanduser() if settings.cache_dir else
                     metrics_cache_dir(results_dir_of(compared.runs[compared.models[0]].path)))
        missing = sorted({i for ids in compared.shared.values() for i in ids} - set(documents))
        if missing:
            raise BenchError(f"example {missing[0]!r} of the runs is not in task {task!r} as it is now"
                             f"{f' ({len(missing)} such examples)' if len(missing) > 1 else ''}",
                             hint="the runs must be of the task's examples; run the models again")
        judge_prefs = ask_judge(judge, compared, settings, criteria, documents, cache_dir).preferences
        aggregates.append(aggregate(judge_prefs, compared.models, lengths, seed=seed))
        notes += judge_prefs.notes
        counts = dict(judge_prefs.counts)
        signatures = dict(judge_prefs.signatures)
    if human_prefs is not None:
        aggregates.append(aggregate(human_prefs, compared.models, lengths, seed=seed))
    for a in aggregates:
        notes += a.notes
    both = agreement(judge_prefs, human_prefs) if judge_prefs is not None and human_prefs is not None else None
    if both is not None and not any(a["items"] for a in both):
        notes.append("the judge and the annotators judged no pair of summaries in common: no agreement to report")
    metric = disagreement_metric(compared, metrics) if judge_prefs is not None else None
    verdicts = ([{"criterion": o.criterion, "id": o.id, "model": o.model, "opponent": o.opponent, "outcome": o.value,
                  "consistent": o.consistent, **o.detail} for o in judge_prefs.outcomes]
                if judge_prefs is not None else [])
    return PairwiseReport(
        task, compared.models, {m: r.run_id for m, r in compared.runs.items()}, tuple(aggregates), signatures, both,
        verdicts, _disagreements(judge_prefs, compared, metric, examples) if judge_prefs is not None else [], metric,
        notes, counts, judge=None if judge_prefs is None else judge_prefs.label,
        human=None if human_prefs is None else human_prefs.label)
