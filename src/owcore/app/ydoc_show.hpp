#pragma once
// `owcore ydoc show <document_id>`: what the configured Redis holds for one collaborative
// document (docs/wire.md, "Yjs documents"), for an operator: element count, total bytes, the sids
// present, the merged state's size, and which stored elements fail validation.

namespace owcore::app {

/// Runs the subcommand with the process environment. `argc/argv` are the arguments after "show"
/// (the document id, in client form `note:abc` or storage form `note_abc`; `--help`).
///
/// Reads the WS Redis when WEBSOCKET_MANAGER=redis (Open WebUI's YdocManager uses the WebSocket
/// client), else the App Redis, and says which in the output. Read-only: it never writes.
/// Prints the report to stdout and diagnostics to stderr. Returns 0 when every stored element is
/// valid (including a missing document), 1 when some element is invalid or the key holds another
/// type, 2 on bad usage, bad configuration, no configured Redis, or an unreachable Redis. Bounded
/// in time by the client's connect and reply timeouts. Not reentrant (runs its own io_context).
int run_ydoc_show(int argc, char** argv);

}  // namespace owcore::app
