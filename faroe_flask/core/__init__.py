"""The framework-free core: imports nothing from Flask, SQLAlchemy or Flask-Mail."""
