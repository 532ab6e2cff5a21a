"""One limiter-off CPU table in a fresh process: `python -m bench.cpu_run URL json|orjson`.

knock-async chooses its JSON reader when it is imported, so a table for each reader needs a
process of its own. For `json`, `import orjson` is made to fail before knock-async is
imported: the process then is what an install without the `fast` extra is. The table goes to
stdout as JSON, for `python -m bench` to print beside the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_run")
    parser.add_argument("base_url")
    parser.add_argument("json_library", choices=("json", "orjson"))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only")
    args = parser.parse_args(argv)
    if args.json_library == "json":
        sys.modules["orjson"] = None  # type: ignore[assignment]  # `import orjson` now raises ImportError

    # Imported only now, after the choice above: importing them imports knock-async.
    from knock_async._convert import JSON_LIBRARY

    from . import cpu

    if args.json_library != JSON_LIBRARY:
        raise RuntimeError(f"knock-async reads JSON with {JSON_LIBRARY} here, not {args.json_library}")
    results = asyncio.run(cpu.run_cpu(args.base_url, args.json_library, scale=args.scale, only=args.only))
    print(json.dumps([attrs.asdict(result) for result in results]))
    return 0


def run(base_url: str, json_library: str, *, scale: float, only: str | None) -> list[Any]:
    """Run one table in a child process; its measurements (`bench.cpu.Measurement`)."""
    from .cpu import Measurement

    command = [sys.executable, "-m", "bench.cpu_run", base_url, json_library, "--scale", str(scale)]
    if only:
        command += ["--only", only]
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"the {json_library} CPU table failed:\n{out.stderr}")
    return [Measurement(**fields) for fields in json.loads(out.stdout)]


if __name__ == "__main__":
    sys.exit(main())
