"""Prometheus metrics: requests and latency by route and status, payment outcomes, refusals by rule.

Each app has its own registry (tests build many apps). Under `ledger serve`, PROMETHEUS_MULTIPROC_DIR is set before
prometheus_client is imported and /metrics sums every gunicorn worker; under a bare `gunicorn api.wsgi:app` without
that variable each worker answers with its own counts.
"""

from __future__ import annotations

import re
from functools import cache
from time import perf_counter

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

PAYMENT_ENDPOINT = "payments.receive_payment"
RULE_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")  # <any('CBS', 'REB'):bank> -> {bank}
PAYMENT_OUTCOMES = {201: "accepted", 200: "replayed", 409: "conflict"}


class Metrics:
    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ledger_http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "ledger_http_request_duration_seconds",
            "Time to answer a request.",
            ["method", "route"],
            registry=self.registry,
        )
        self.payments = Counter("ledger_payments", "Payments posted, by outcome.", ["outcome"], registry=self.registry)
        self.refusals = Counter(
            "ledger_refusals", "Requests refused, by rule and status.", ["rule", "status"], registry=self.registry
        )

    def install(self, app: Flask) -> None:
        app.before_request(self._start)
        app.after_request(self._observe)

    def _start(self) -> None:
        g.started = perf_counter()

    def _observe(self, response: Response) -> Response:
        route = _route(request.url_rule.rule) if request.url_rule else "unmatched"
        status = response.status_code
        method = request.method
        self.requests.labels(method, route, str(status)).inc()
        if "started" in g:
            self.latency.labels(method, route).observe(perf_counter() - g.started)
        if request.endpoint == PAYMENT_ENDPOINT:
            self.payments.labels(PAYMENT_OUTCOMES.get(status, "rejected" if status < 500 else "failed")).inc()
        if status >= 400:
            self.refusals.labels(g.get("problem_rule", "unknown"), str(status)).inc()
        return response

    def exposition(self) -> Response:
        registry = self.registry
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@cache
def _route(rule: str) -> str:
    """A URL rule as its metrics label: the rules are the app's own, a few dozen."""
    return RULE_VARIABLE.sub(r"{\1}", rule)
