"""Fuzz the served API with schemathesis: no 5xx, and every response conforms to /openapi.json.

Serves a scratch index of the sample corpus on loopback (rate limit off, so the fuzzer is not
throttled), then runs schemathesis against the served schema.

Usage:
    python benchmarks/fuzz_api.py --max-examples 120
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from served import wait_ready

ROOT = Path(__file__).resolve().parent.parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=120, help="examples per operation (default 120)")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reportqa-fuzz-") as scratch:
        index_dir = Path(scratch) / "index"
        cli = [sys.executable, "-m", "qa.cli"]
        subprocess.run([*cli, "ingest", "--index-dir", str(index_dir), str(ROOT / "corpus")], check=True)
        env = {**os.environ, "REPORTQA_RATE_LIMIT_PER_MINUTE": "0"}
        log_path = Path(scratch) / "server.log"
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [*cli, "serve", "--index-dir", str(index_dir), "--port", str(args.port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            base = f"http://127.0.0.1:{args.port}"
            try:
                wait_ready(base)
                command = [
                    str(Path(sys.executable).parent / "schemathesis"),
                    "run",
                    f"{base}/openapi.json",
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    str(args.max_examples),
                    "--seed",
                    "1",
                ]
                returncode = subprocess.run(command).returncode
            finally:
                server.terminate()
                server.wait(timeout=30)
        errors = [line for line in log_path.read_text().splitlines() if '"ERROR"' in line]
        print(f"server log: {len(errors)} error lines")
        for line in errors[:5]:
            print(f"    {line[:300]}")
        return returncode


if __name__ == "__main__":
    sys.exit(main())
