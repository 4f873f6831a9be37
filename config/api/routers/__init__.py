"""One router per resource of the config API."""
