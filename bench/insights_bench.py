"""Server time of the insights page on a large practice (target p95 < 300 ms on SQLite).

    python bench/insights_bench.py [--runs 30] [--db PATH]

Generates the large practice (5,000 partners, 20,000 clients, 300,000 visits, 100,000
referrals) into var/bench/large.sqlite3 the first time (about a minute), then requests the page
through Django's test client and prints p50/p95 and the number of queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--db", default=str(ROOT / "var" / "bench" / "large.sqlite3"))
    args = parser.parse_args()
    db = Path(args.db)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "REFERWELL_VAR_DIR": str(db.parent)}
    referwell = Path(sys.executable).with_name("referwell")
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating the large practice into {db} …", flush=True)
        subprocess.run([str(referwell), "migrate", "-v0"], env=env, check=True)
        subprocess.run([str(referwell), "generate", "--size", "large"], env=env, check=True)
    else:
        subprocess.run([str(referwell), "migrate", "-v0"], env=env, check=True)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from referwell.accounts.models import Member

    member = Member.objects.select_related("user").get(practice__slug="large-practice")
    http = Client(SERVER_NAME="localhost")
    http.force_login(member.user)
    http.get("/insights/")  # warm up
    times = []
    for _ in range(args.runs):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = http.get("/insights/")
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    p50 = statistics.median(times)
    print(
        f"insights page, large practice (SQLite), {args.runs} runs: p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms (target < 300 ms), {len(queries.captured_queries)} queries"
    )


if __name__ == "__main__":
    main()
