"""The WSGI entry point for gunicorn (`gunicorn 'api.wsgi:app'`, as in the Procfile)."""

from api.app import create_app

app = create_app()
