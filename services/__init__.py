"""Use cases shared by the CLI and the HTTP API: each validates, writes, audits and events."""
