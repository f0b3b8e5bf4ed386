"""Which language model answers and translates (the optional path of kb/models/llm.py): a
llama-index `LLM` built from the settings, once per process.

Two ways to name it, both read from the environment like every setting (kb/config.py):

- KB_LLM_BASE_URL and KB_LLM_MODEL (with KB_LLM_API_KEY, KB_LLM_TIMEOUT): an OpenAI-compatible
  endpoint (Ollama, vLLM, llama.cpp's server, LiteLLM, OpenAI itself), through llama-index's
  `OpenAILike`. One attempt per request, as before llama-index carried it: a slow model makes the
  app fall back to the extractive answer after KB_LLM_TIMEOUT seconds, not after four of them.
- KB_LLM_CLASS, the import path of any llama-index LLM class installed beside kb
  (`llama_index.llms.azure_openai.AzureOpenAI`, `llama_index.llms.bedrock_converse.BedrockConverse`,
  `llama_index.llms.ollama.Ollama`), with KB_LLM_OPTIONS, a JSON object of its keyword arguments;
  KB_LLM_MODEL, when set, is passed as `model` unless the options name one.
"""

from __future__ import annotations

import functools
import importlib
import json

from kb.config import Settings
from kb.errors import UsageError


def configured(settings: Settings) -> bool:
    """Whether a language model is configured (else answers stay extractive, quotes untranslated)."""
    return bool(settings.llm_class or (settings.llm_base_url and settings.llm_model))


def name(settings: Settings) -> str:
    """The model's name as answers show it ("llm:<name>", "Machine translation (<name>)")."""
    if settings.llm_class:
        options = _options(settings)
        return str(options.get("model") or options.get("model_name") or settings.llm_class.rpartition(".")[2])
    return settings.llm_model


def where(settings: Settings) -> str:
    """The model as error messages name it: its endpoint, or its class."""
    return f"({settings.llm_class})" if settings.llm_class else f"at {settings.llm_base_url}"


def model(settings: Settings):
    """The configured llama-index LLM (built once per settings). A UsageError when KB_LLM_CLASS or
    KB_LLM_OPTIONS cannot be used, saying which and what to do."""
    return _model(settings)


@functools.lru_cache(maxsize=4)
def _model(settings: Settings):
    if settings.llm_class:
        return _named(settings)
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        # A placeholder rather than nothing: with no key, the OpenAI client would send the
        # OPENAI_API_KEY of the environment to whatever endpoint KB_LLM_BASE_URL names.
        api_key=settings.llm_api_key or "unused",
        is_chat_model=True,
        temperature=0.0,
        timeout=settings.llm_timeout,
        max_retries=0,
    )


def _named(settings: Settings):
    from llama_index.core.llms import LLM

    path = settings.llm_class.strip().replace(":", ".")
    module_name, _, class_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name) if module_name else None
    except ImportError as exc:
        raise UsageError(
            f"KB_LLM_CLASS={settings.llm_class!r}: cannot import {module_name} ({exc}); install the "
            "llama-index integration that provides it (e.g. pip install llama-index-llms-ollama)"
        ) from None
    except AttributeError:
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, LLM)):
        raise UsageError(
            f"KB_LLM_CLASS={settings.llm_class!r} does not name a llama-index LLM class; write its "
            "import path, e.g. llama_index.llms.ollama.Ollama"
        )
    options = _options(settings)
    if settings.llm_model and "model" not in options:
        options["model"] = settings.llm_model
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise UsageError(
            f"KB_LLM_CLASS={settings.llm_class!r} refused KB_LLM_OPTIONS ({exc.__class__.__name__}: "
            f"{str(exc)[:300]}); see that class's documentation for its arguments"
        ) from None


def _options(settings: Settings) -> dict:
    if not settings.llm_options.strip():
        return {}
    try:
        options = json.loads(settings.llm_options)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f'KB_LLM_OPTIONS is not JSON ({exc}); write an object such as {{"model": "llama3"}}'
        ) from None
    if not isinstance(options, dict):
        raise UsageError('KB_LLM_OPTIONS must be a JSON object such as {"model": "llama3"}')
    return options
