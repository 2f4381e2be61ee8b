"""reportqa's HTTP API (FastAPI)."""
