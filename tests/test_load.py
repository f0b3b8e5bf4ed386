"""Several gradio_client clients at once, while the Chroma server behind the app is restarted: a
short version of `python -m evals.reliability.load --chroma-restart` (20 clients, recorded in
docs/reliability-crash-load.md)."""

from __future__ import annotations

import pytest
from conftest import copy_declaration, settings_for
from helpers import free_port

import app
from evals.reliability import load
from ingest import pipeline

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_a_chroma_restart_fails_questions_with_a_message_then_the_app_answers_again(workspace, tmp_path):
    sources, _ = workspace
    copy_declaration(sources)
    server = load.ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        settings = settings_for(sources, tmp_path / ".kb", chroma_url=server.url, port=free_port())
        assert pipeline.run(settings, progress=False).exit_code == 0
        demo, url = app.serve(settings, block=False, quiet=True)
        try:
            during = load.restart_when(server, after_calls=10, outage=2.0)
            result = load.run_load(url, clients=4, total=40, asked=load.questions(), during=during)
        finally:
            demo.close()
    finally:
        server.stop()
    restart = load.outage_report(result)
    assert restart["errors_before"] == 0 and restart["errors_after"] == 0, restart
    assert restart["errors_during"] >= 1, restart
    for message in restart["messages_during"]:
        assert server.url in message and "Chroma server" in message, message
        assert "Traceback" not in message
    assert restart["first_answer_after_restart_s"] is not None and restart["answered_after"] >= 5, restart
    assert result.summary()["answered"] >= 40
