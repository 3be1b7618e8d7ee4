"""The WSGI entry point for gunicorn (`gunicorn 'api.wsgi:app'`, as in the Procfile).

A worker that starts while the database is away waits for it rather than failing to boot (see `api.serve`).
"""

from api.app import create_app
from api.serve import when_database_answers

app = when_database_answers(create_app)
