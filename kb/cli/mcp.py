"""`kb mcp`: serve the knowledge base to AI assistants over the Model Context Protocol
(kb/integrations/mcp_server.py), on stdio or, with --http, over streamable HTTP."""

from __future__ import annotations

import argparse
import sys

from kb.cli.options import add_index_options, settings_from

DESCRIPTION = """\
Serve the knowledge base over the Model Context Protocol: tools search, ask, commitments and
evidence (every passage with its citation and passage id) and a resource per document
(kb://documents/<id>). By default on stdin/stdout, for an assistant that starts `kb mcp` itself;
with --http on http://HOST:PORT/mcp (loopback by default). With KB_AUTH set, HTTP clients must send
one of its logins as HTTP Basic credentials; a host other than loopback needs KB_AUTH."""

EPILOG = """\
Examples:
  kb mcp --index .kb                             for an assistant's configuration (stdio)
  KB_AUTH=alice:secret kb mcp --http --port 7861  streamable HTTP at http://127.0.0.1:7861/mcp
See docs/integrations.md."""

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve the knowledge base to AI assistants (Model Context Protocol)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_index_options(p, sources=True)
    p.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="address for --http (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7861, help="port for --http (default 7861)")
    p.set_defaults(func=run_mcp)


def run_mcp(args: argparse.Namespace) -> int:
    from kb.api import Library
    from kb.errors import IndexMissingError, UsageError
    from kb.integrations.mcp_server import server, with_login
    from kb.logins import auth_pairs

    settings = settings_from(args)
    logins = auth_pairs(settings.auth)
    if args.http and args.host not in LOOPBACK and not logins:
        raise UsageError(
            f"--host {args.host} would open the knowledge base to the network without a login: set KB_AUTH "
            "to user:password pairs, or serve on loopback (the default)"
        )
    library = Library(settings)
    if not library.records():
        raise IndexMissingError(f"the index in {settings.index_dir}/ is empty: run `kb ingest` first")
    mcp = server(library)
    if not args.http:
        mcp.run("stdio")  # stdout carries the protocol: nothing else may be printed there
        return 0
    import uvicorn

    app = mcp.streamable_http_app(host=args.host)
    print(
        f"Serving the knowledge base over MCP at http://{args.host}:{args.port}/mcp"
        f"{' (login required)' if logins else ''}. Stop it with Ctrl+C.",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        with_login(app, logins) if logins else app, host=args.host, port=args.port, log_level="warning"
    )
    return 0
