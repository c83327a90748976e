"""`Server-Timing: app;dur=<ms>` on every response: the time spent inside Django.

First in MIDDLEWARE, so the figure covers every other middleware, the view and the template,
and leaves out only the WSGI server and the network. Browsers show it in the developer tools'
network panel; `bench/pages_bench.py` reads it beside the latency the client sees. It tells how
long a request took, nothing about what it carried, so it is safe to send to everyone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ServerTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration = (time.perf_counter() - started) * 1000
        entry = f"app;dur={duration:.1f}"
        # Keep any entry a view set itself; ours comes first.
        if existing := response.headers.get("Server-Timing"):
            entry = f"{entry}, {existing}"
        response.headers["Server-Timing"] = entry
        return response
