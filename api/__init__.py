"""The FastAPI search service (a later issue); empty so that mypy can check the package list."""
