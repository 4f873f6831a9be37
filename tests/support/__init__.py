"""Helpers shared by the tests (a raw OCPP-J client, servers on free ports, databases)."""
