"""Fuzz the served API with schemathesis: no 5xx, and every response conforms to /openapi.json.

Serves a scratch index of the sample corpus on loopback (rate limit off, so the fuzzer is not
throttled), then runs schemathesis against the served schema: without API keys, or with `--keys`
with a write key sent on every request (a keys file made with `reportqa keys create`). Needs
schemathesis (`pip install schemathesis`; not a dependency of the service).

Usage:
    python benchmarks/fuzz_api.py --max-examples 120
    python benchmarks/fuzz_api.py --max-examples 120 --keys --checks all
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from served import wait_ready

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "qa.cli"]
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=120, help="examples per operation (default 120)")
    parser.add_argument("--checks", default=CHECKS, help=f"schemathesis checks, or all (default {CHECKS})")
    parser.add_argument("--keys", action="store_true", help="serve with API keys and send a write key")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reportqa-fuzz-") as scratch:
        index_dir = Path(scratch) / "index"
        subprocess.run([*CLI, "ingest", "--index-dir", str(index_dir), str(ROOT / "corpus")], check=True)
        env = {**os.environ, "REPORTQA_RATE_LIMIT_PER_MINUTE": "0"}
        headers = []
        if args.keys:
            env["REPORTQA_API_KEYS"] = str(Path(scratch) / "keys.json")
            create = [*CLI, "keys", "create", "fuzzer", "--scope", "write"]
            made = subprocess.run(create, env=env, check=True, capture_output=True, text=True)
            headers = ["--header", f"Authorization: Bearer {made.stdout.strip()}"]
        log_path = Path(scratch) / "server.log"
        with open(log_path, "w") as log:
            command = [*CLI, "serve", "--index-dir", str(index_dir), "--port", str(args.port)]
            server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
            base = f"http://127.0.0.1:{args.port}"
            try:
                wait_ready(base)
                config = ["--config-file", str(Path(__file__).with_name("schemathesis.toml"))]
                fuzzer = [str(Path(sys.executable).parent / "schemathesis"), *config, "run", f"{base}/openapi.json"]
                options = ["--checks", args.checks, "--max-examples", str(args.max_examples), "--seed", "1"]
                returncode = subprocess.run([*fuzzer, *options, *headers]).returncode
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
