"""Use cases shared by the CLI, the config API and the portal: validate, write, audit, event."""
