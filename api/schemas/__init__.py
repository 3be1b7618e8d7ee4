"""Marshmallow schemas of the HTTP contract: request bodies (refusing unknown fields) and answers."""
