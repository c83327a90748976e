"""`make bench`: every benchmark, one after the other; each prints its own figures."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    "guidance_bench.py",
    "insights_bench.py",
    "pages_bench.py",
    "nppes_bench.py",
    "sqlite_writers_bench.py",
    "outbox_bench.py",
]

if __name__ == "__main__":
    failed = 0
    for name in BENCHES:
        print(f"== {name}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / name)])
    sys.exit(failed)
