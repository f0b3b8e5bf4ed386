"""Optional fluent answers from a language model, checked against the passages.

The model is any llama-index `LLM` (kb/models/llm_config.py builds it from the settings): an
OpenAI-compatible endpoint (KB_LLM_BASE_URL and KB_LLM_MODEL, e.g. a local Ollama, vLLM or
llama.cpp server) through `OpenAILike`, or the llama-index integration KB_LLM_CLASS names (Azure
OpenAI, Bedrock, ...). Nothing here runs unless one of them is set.
It also translates quoted sentences that are in another language than the question (`translate`):
the translation is shown under the original, marked as a machine translation, never in its place.
The model sees the numbered passages and must cite them as [n] after each sentence, in the
style of llama-index's CitationQueryEngine. Its text is checked before it is shown: a
sentence whose markers do not refer to a passage, or whose quotation is not in the passage it
cites, or that cites nothing, is marked as unsupported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.config import Settings
from kb.models import llm_config
from kb.text.sentences import sentence_spans
from kb.types import Hit

UNSUPPORTED = "[unsupported]"
_MARKER = re.compile(r"\[(\d+)\]")
_QUOTE = re.compile(r'"([^"]{8,})"|“([^”]{8,})”')

PROMPT = """You answer questions for ministry staff using only the numbered passages below.
Write a short answer (at most five sentences). After every sentence put the number of the passage
that supports it in square brackets, e.g. [2]. When you quote, copy the words exactly, in double
quotes. If the passages do not answer the question, say so. Do not use outside knowledge.

{passages}

Question: {question}
Answer:"""


TRANSLATE_PROMPT = """Translate each numbered sentence below into {language}. Reply with one line per
sentence, in the same order, as the number, a full stop and the translation. Translate faithfully;
add nothing.

{sentences}"""
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s*(.+?)\s*$")


def translation_label(model: str) -> str:
    """How a machine translation is introduced wherever it is shown."""
    return f"Machine translation ({model})" if model else "Machine translation"


class LLMError(Exception):
    """The LLM endpoint failed, timed out or returned something unusable."""


@dataclass(frozen=True)
class CheckedSentence:
    """A sentence of the LLM's answer, the passage markers it cites, and whether it is supported."""

    text: str
    markers: tuple[int, ...]
    supported: bool
    problem: str = ""


def generate(settings: Settings, question: str, hits: list[Hit]) -> str:
    """The raw answer text from the configured endpoint; raises LLMError on any failure."""
    passages = "\n\n".join(f"[{i}] ({h.citation}) {h.passage.text}" for i, h in enumerate(hits, start=1))
    return _complete(settings, PROMPT.format(passages=passages, question=question))


def translate(settings: Settings, sentences: list[str], language: str) -> list[str]:
    """Each sentence translated into `language` (an English language name, e.g. "English"); "" for
    a sentence the reply leaves out. Raises LLMError on any failure of the endpoint."""
    if not sentences:
        return []
    numbered = "\n".join(f"{i}. {' '.join(s.split())}" for i, s in enumerate(sentences, start=1))
    reply = _complete(settings, TRANSLATE_PROMPT.format(language=language, sentences=numbered))
    found: dict[int, str] = {}
    for line in reply.splitlines():
        if (m := _NUMBERED.match(line)) and 1 <= int(m[1]) <= len(sentences):
            found.setdefault(int(m[1]), m[2])
    return [found.get(i, "") for i in range(1, len(sentences) + 1)]


def _complete(settings: Settings, prompt: str) -> str:
    """The model's reply to one user message; raises LLMError on any failure of the model."""
    from llama_index.core.llms import ChatMessage

    model = llm_config.model(settings)  # a configuration error is the user's to fix: not caught here
    where = llm_config.where(settings)
    try:
        reply = model.chat([ChatMessage(role="user", content=prompt)])
    # Whatever the integration raises (each has its own errors: openai's, boto's, httpx's) means
    # no generated answer; the caller shows the extractive one with this message, never a traceback.
    except Exception as exc:
        if any("timeout" in k.__name__.lower() for k in type(exc).__mro__):
            raise LLMError(
                f"the language model {where} did not answer within {settings.llm_timeout:.0f} s"
            ) from None
        raise LLMError(f"the language model {where} failed ({exc.__class__.__name__})") from None
    text = reply.message.content
    if not text or not text.strip():
        raise LLMError(f"the language model {where} returned no text")
    return text.strip()


def check(text: str, hits: list[Hit]) -> list[CheckedSentence]:
    """Split the LLM's answer into sentences and check each against the passages it cites."""
    checked = []
    for a, b in sentence_spans(text):
        sentence = text[a:b].strip()
        markers = tuple(int(m) for m in _MARKER.findall(sentence))
        problem = ""
        if not markers:
            problem = "cites no passage"
        elif any(not 1 <= m <= len(hits) for m in markers):
            problem = "cites a passage that was not retrieved"
        else:
            cited = " ".join(_normal(hits[m - 1].passage.text) for m in markers)
            for match in _QUOTE.finditer(sentence):
                quote = _normal(match.group(1) or match.group(2))
                if quote not in cited:
                    problem = "quotes words that are not in the cited passage"
        checked.append(CheckedSentence(sentence, markers, not problem, problem))
    return checked


def render(checked: list[CheckedSentence]) -> str:
    """The answer text shown to users, with unsupported sentences marked."""
    return " ".join(s.text if s.supported else f"{s.text} {UNSUPPORTED}" for s in checked)


def _normal(text: str) -> str:
    return " ".join(text.replace("“", '"').replace("”", '"').replace("’", "'").lower().split())
