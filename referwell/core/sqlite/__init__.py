"""Django's SQLite backend with writers served in turn (see base.py)."""
