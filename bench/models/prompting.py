"""Prompts for generative models, and reading an answer out of what they generate.

Shared by the Hugging Face causal and instruction-tuned seq2seq models and the
OpenAI-compatible backend, so every prompted model is asked and read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bench.tasks.records import Example, Task

#: Prompts for tasks that do not define one.
DEFAULT_PROMPTS: Mapping[str, str] = {
    "summarization": "Summarize the following news article.\n\n{document}",
    "qa": "Answer the question with a short span copied from the article. If the article does not answer it, "
          "reply exactly: unanswerable.\n\nArticle: {context}\n\nQuestion: {question}\nAnswer:",
}
#: max_new_tokens when neither the model's config, the task nor --gen sets a length.
DEFAULT_MAX_NEW_TOKENS: Mapping[str, int] = {"summarization": 128, "qa": 32}


def prompt_template(task: Task) -> str:
    return task.prompt or DEFAULT_PROMPTS[task.type]


def prompt_values(example: Example, task: Task) -> dict[str, str]:
    if task.type == "qa":
        return {"context": example.input, "question": example.question or ""}
    return {"document": example.input}


def format_prompt(template: str, values: Mapping[str, str]) -> str:
    """Fill {document}, {context} and {question} in a task's prompt (other braces are left as they are)."""
    return re.sub(r"\{(document|context|question)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def render(example: Example, task: Task) -> str:
    return format_prompt(prompt_template(task), prompt_values(example, task))


def parse_answer(text: str) -> str:
    """The answer in a generated text: its first non-empty line, without an "Answer:" label or quotes.

    "unanswerable" (any case, with or without a full stop) or an empty output is no answer: "".
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    answer = re.sub(r"^answer\s*:\s*", "", lines[0], flags=re.IGNORECASE).strip()
    if len(answer) >= 2 and answer[0] == answer[-1] and answer[0] in "\"'":
        answer = answer[1:-1].strip()
    if re.fullmatch(r"[\W_]*unanswerable[\W_]*", answer, flags=re.IGNORECASE):
        return ""
    return answer


def parse_summary(text: str) -> str:
    """A generated summary with blank lines and surrounding spaces removed (line breaks kept)."""
    return "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())


def parse_output(text: str, task: Task) -> str:
    return parse_answer(text) if task.type == "qa" else parse_summary(text)
