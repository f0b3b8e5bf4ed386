"""`kb ask` (cited answer) and `kb search` (ranked passages only)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap

from kb.answer.render import SPELLING_HINT
from kb.cli.options import add_index_options, settings_from
from kb.search.query import Filters
from kb.search.retrieve import MODES


def register(sub: argparse._SubParsersAction) -> None:
    for name, help_, answer in (
        ("ask", "answer a question with sentences quoted from the documents, each cited", True),
        ("search", "list the passages that best match a question, without composing an answer", False),
    ):
        p = sub.add_parser(
            name,
            help=help_,
            description=help_[0].upper() + help_[1:] + ".",
            epilog='Put a phrase in "double quotes" to require it verbatim in every passage.',
        )
        p.add_argument("question", help="the question, in plain words")
        add_index_options(p)
        add_query_options(p)
        p.add_argument(
            "--without",
            action="append",
            default=[],
            metavar="KEY",
            help="ignore a constraint read from the question, by the key `Read as:` shows (country:FRA, "
            "year:2015, type:statement, document:ID, phrase:TEXT); repeatable",
        )
        p.add_argument(
            "--here",
            action="store_true",
            help="answer in this process even when `kb serve` runs on this index (by default the running "
            "app answers: it has the model and the index loaded already)",
        )
        p.set_defaults(func=run_query, answer=answer, exit_at_once=True)


def add_query_options(p: argparse.ArgumentParser) -> None:
    """Retrieval options shared by ask, search and evaluation commands."""
    p.add_argument("-k", type=int, default=None, help="number of passages (default 5, or KB_TOP_K)")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="retrieval mode (default hybrid)")
    p.add_argument(
        "--type", action="append", default=[], metavar="TYPE", help="only documents of this type (repeatable)"
    )
    p.add_argument(
        "--country",
        action="append",
        default=[],
        metavar="ISO3",
        help="only documents of this country (repeatable; G7 for G7 texts)",
    )
    p.add_argument(
        "--issuer", action="append", default=[], help="only documents from this issuer (repeatable)"
    )
    p.add_argument("--doc", action="append", default=[], metavar="ID", help="only this document (repeatable)")
    p.add_argument(
        "--lang",
        action="append",
        default=[],
        metavar="CODE",
        help="only documents in this language, an ISO 639-1 code such as it (repeatable)",
    )
    p.add_argument("--since", default="", metavar="DATE", help="only documents dated on or after DATE")
    p.add_argument("--until", default="", metavar="DATE", help="only documents dated on or before DATE")
    p.add_argument("--per-doc", type=int, default=None, metavar="N", help="at most N passages per document")
    p.add_argument(
        "--mmr",
        type=float,
        default=None,
        metavar="L",
        help="diversify with maximal marginal relevance (0-1, higher = more relevance)",
    )
    p.add_argument("--json", action="store_true", help="print the answer object as JSON (see docs/cli.md)")


def filters_from(args: argparse.Namespace) -> Filters:
    """The filter options, each repeatable and comma-separated."""
    options = {"types": args.type, "countries": args.country, "issuers": args.issuer, "doc_ids": args.doc}
    options |= {"languages": args.lang, "since": args.since, "until": args.until}
    return Filters.read(options, split=",")


def run_query(args: argparse.Namespace) -> int:
    from kb.api import AskRequest

    settings = settings_from(args)
    request = AskRequest(
        args.question,
        mode=args.mode,
        k=args.k or settings.top_k,
        filters=filters_from(args),
        removed=tuple(args.without),
        answer=args.answer,
        per_doc=args.per_doc,
        mmr=args.mmr,
    ).checked(settings.max_question_chars)
    result = (None if args.here else served_answer(settings, request)) or answer_here(settings, request)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_answer(result, show_answer=args.answer)
    return 0


def served_answer(settings, request) -> dict | None:
    """The answer of the app `kb serve` runs on this index (kb/cli/served.py), or None when none runs
    with these settings or it does not answer."""
    from kb.cli import served

    server = served.find(settings)
    if server is None:
        return None
    try:
        result = served.answer(server, request.to_dict())
    except served.Unavailable:
        return None
    print(f"(answered by the app at {server.url}; --here to answer in this process)", file=sys.stderr)
    return result


def answer_here(settings, request) -> dict:
    """The answer computed in this process: the index and the model opened, then the question."""
    from kb.api import Library

    library = Library(settings)
    try:
        library.warm(lasting=False)  # what answering loads, loaded before the answer is timed
        return library.answer(request).to_dict()
    finally:
        library.close()


def print_answer(result: dict, show_answer: bool = True, out=sys.stdout) -> None:
    """The answer (Answer.to_dict, the JSON of --json) for a terminal: answer text, then each
    passage with its citation, wrapped."""
    width = min(shutil.get_terminal_size((100, 20)).columns, 100)
    bold = (lambda s: f"\033[1m{s}\033[0m") if out.isatty() else (lambda s: s)
    passages, understood = result["passages"], result["understood"]
    n = len(passages)
    print(
        f"{result['question']}\n({result['mode']}, {n} passage{'s' * (n != 1)}, {result['latency_ms']:.0f} ms)\n",
        file=out,
    )
    shown = [c for c in understood["constraints"] if c["key"] not in understood["removed"]]
    if shown:
        keys = ", ".join(c["key"] for c in shown if c["indexed"])
        print(textwrap.fill(f"Read as: {understood['read_as']}", width, subsequent_indent="  "), file=out)
        if keys:
            hint = f"(searched first; to ask again without one: --without KEY, with KEY among {keys})"
            print(textwrap.fill(hint, width, initial_indent="  ", subsequent_indent="   "), file=out)
        print(file=out)
    if result["searched_for"]:
        print(
            textwrap.fill(f"Searched for: {result['searched_for']}", width, subsequent_indent="  "), file=out
        )
        print(
            textwrap.fill(f"({SPELLING_HINT})", width, initial_indent="  ", subsequent_indent="   "), file=out
        )
        print(file=out)
    if result["notice"]:
        print(f"Note: {result['notice']}\n", file=out)
    if show_answer:
        generated_by = result["generated_by"]
        label = (
            "Answer" if generated_by == "extractive" else f"Answer (generated by {generated_by[4:]}, checked)"
        )
        print(bold(label), file=out)
        for para in result["answer"].split("\n"):
            print(textwrap.fill(para, width, initial_indent="  ", subsequent_indent="  "), file=out)
        print(file=out)
    if result.get("commitments"):
        print(bold("Commitments (G7 texts; `kb commitments evidence ID` for the detail)"), file=out)
        for c in result["commitments"]:
            countries = ", ".join(c["evidence_countries"]) or "none yet"
            head = f"{c['id']} · {c['strength']} · {c['lineage'] or 'lineage unknown'} · evidence from: {countries}"
            print(textwrap.fill(head, width, initial_indent="  ", subsequent_indent="    "), file=out)
            print(
                textwrap.fill(
                    f"“{c['text']}” [{c['marker']}]", width, initial_indent="    ", subsequent_indent="    "
                ),
                file=out,
            )
            print(
                textwrap.fill(c["citation"], width, initial_indent="    ", subsequent_indent="    "), file=out
            )
        print(file=out)
    heading = (
        "Closest passages (the documents do not appear to answer this)" if result["abstained"] else "Passages"
    )
    print(bold(heading), file=out)
    for p in passages:
        marker = f"[{p['marker']}]"
        language = p["document"]["language"]
        other = f" [{language}]" if language and language != "en" else ""  # flag the non-English ones
        evidence = " (national evidence)" if p.get("national_evidence") else ""
        print(f"{marker:>5} {bold(p['citation'])}{other}{evidence}", file=out)
        print(textwrap.fill(p["text"], width, initial_indent=" " * 6, subsequent_indent=" " * 6), file=out)
        print(file=out)
