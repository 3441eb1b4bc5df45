"""Cold init of every function: ours with and without .pyc, against a naive Powertools baseline.

Lambda's code directory is read-only and `sam build` ships no .pyc, so without a compile step
every cold start compiles the layer's dependencies again. This script rebuilds the deployment
layout for this machine's platform (functions, the layer with its dependencies installed by pip
without compiling, the way SAM ships them), then times, in fresh Python processes, the import of
each handler module (which also builds its module-level objects):

  - `no .pyc`  : the layout as `sam build` produces it;
  - `.pyc`     : the same after `scripts/compile_build.py` (what `make build` now does);
  - baseline   : a naive handler module (boto3, Logger/Tracer/Metrics instantiated,
                 APIGatewayRestResolver, pydantic, httpx) in both layouts;
  - floor      : only what the design's packages cost a create function before it does anything
                 of ours (boto3 with one DynamoDB client, Logger, Metrics, the validating
                 resolver, a pydantic model, an httpx client; no Tracer). No function of ours can
                 start faster than this without dropping one of those packages, so it is the
                 yardstick for what our own code adds.

Run with `make bench` (or `python -m bench.cold --runs 7`). Figures are medians.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from scripts.compile_build import compile_tree

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".local" / "bench"

# The route, model and handler both synthetic modules share; only what they set up differs.
_HANDLER = """

class Item(BaseModel):
    id: str
    amount: int


@app.get("/items/<item_id>")
def get_item(item_id: str) -> dict:
    return Item(id=item_id, amount=1).model_dump()


def lambda_handler(event, context):
    return app.resolve(event, context)
"""

BASELINE = (
    """
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel
import httpx

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Baseline")
app = APIGatewayRestResolver(enable_validation=True)
dynamodb = boto3.client("dynamodb")
http = httpx.Client()
"""
    + _HANDLER
)

FLOOR = (
    """
import boto3
import httpx
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

logger = Logger()
metrics = Metrics(namespace="Floor")
app = APIGatewayRestResolver(enable_validation=True)
dynamodb = boto3.session.Session().client("dynamodb")
http = httpx.Client()
"""
    + _HANDLER
)

# -B: Lambda cannot write next to the code, so nothing compiled in one sample may help the next
# (-I ignores PYTHONDONTWRITEBYTECODE, hence the flag).
#
# After the import, the probe also builds what our handlers build on their first request (the
# boto3 and httpx clients behind the `paygate.deps` getters the module uses), so deferring work
# from the import to the first request cannot hide it: "+ setup" is import plus that. The
# baseline builds its clients at import, so its setup is zero.
PROBE = """
import sys, time, resource
sys.path[:0] = {paths!r}
t0 = time.perf_counter()
import app
imported = time.perf_counter()
for name, value in sorted(vars(app).items()):
    wrapped = getattr(value, "__wrapped__", None)
    if (
        hasattr(value, "cache_info")
        and getattr(value, "__module__", "").startswith("paygate")
        and wrapped is not None
        and wrapped.__code__.co_argcount == 0
    ):
        value()
done = time.perf_counter()
print((imported - t0) * 1000, (done - t0) * 1000, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""

ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "ORDERS_TABLE": "orders",
    "APPS_TABLE": "apps",
    "IDEMPOTENCY_TABLE": "idempotency",
    "EVENT_BUS_NAME": "bus",
    "WEBHOOKS_TABLE": "webhooks",
    "WEBHOOK_DELIVERIES_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries",
    "POLL_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:poll",
}


def _functions() -> dict[str, Path]:
    from paygate_local.template import load_yaml

    found = {}
    for logical_id, resource in load_yaml(ROOT / "template.yaml")["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            found[logical_id] = ROOT / resource["Properties"]["CodeUri"]
    return found


def prepare(python: str) -> dict[str, Path]:
    """Build the deployment layout once: runtime (boto3, compiled like Lambda's), layer, functions."""
    raw = WORK / "raw"
    if raw.exists():
        shutil.rmtree(raw)
    (raw / "layer" / "python").mkdir(parents=True)
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts"]
    # The baseline's Tracer needs aws-xray-sdk; our functions never import it.
    subprocess.run(
        [
            *pip,
            "--no-compile",
            "--target",
            str(raw / "layer" / "python"),
            "-r",
            str(ROOT / "layers" / "paygate" / "requirements.txt"),
            "aws-xray-sdk==2.15.0",
        ],
        check=True,
    )
    shutil.copytree(
        ROOT / "layers" / "paygate" / "paygate",
        raw / "layer" / "python" / "paygate",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    runtime = WORK / "runtime"
    if not runtime.exists():  # the Lambda runtime's own boto3 ships compiled
        boto3_pin = next(
            line
            for line in (ROOT / "layers" / "paygate" / "requirements.txt").read_text().splitlines()
            if line.startswith("boto3==")
        )
        subprocess.run([*pip, "--target", str(runtime), boto3_pin], check=True, stderr=subprocess.DEVNULL)
    for name, code_dir in _functions().items():
        shutil.copytree(code_dir, raw / name, ignore=shutil.ignore_patterns("__pycache__"))
    (raw / "Baseline").mkdir()
    (raw / "Baseline" / "app.py").write_text(BASELINE)
    (raw / "Floor").mkdir()
    (raw / "Floor" / "app.py").write_text(FLOOR)
    compiled = WORK / "pyc"
    if compiled.exists():
        shutil.rmtree(compiled)
    shutil.copytree(raw, compiled)
    compile_tree(compiled)
    return {"raw": raw, "pyc": compiled, "runtime": runtime}


Sample = tuple[float, float, int]  # import ms, import + first-request setup ms, peak RSS MB


def _sample(python: str, build: Path, runtime: Path, function: str) -> Sample:
    paths = [str(build / function), str(build / "layer" / "python"), str(runtime)]
    out = subprocess.run(
        [python, "-I", "-S", "-B", "-c", PROBE.format(paths=paths)], env=ENV, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def measure(python: str, dirs: dict[str, Path], names: list[str], runs: int) -> dict[str, dict[str, float]]:
    """Round-robin over every (function, layout) so a busy machine slows all of them alike."""
    samples: dict[tuple[str, str], list[Sample]] = {}
    for _ in range(runs):
        for name in names:
            for layout in ("raw", "pyc"):
                samples.setdefault((name, layout), []).append(_sample(python, dirs[layout], dirs["runtime"], name))
    rows = {}
    for name in names:
        raw, pyc = samples[(name, "raw")], samples[(name, "pyc")]
        rows[name] = {
            "no_pyc_ms": round(statistics.median(t for t, _, _ in raw), 1),
            "pyc_ms": round(statistics.median(t for t, _, _ in pyc), 1),
            "pyc_setup_ms": round(statistics.median(t for _, t, _ in pyc), 1),
            "peak_rss_mb": max(r for _, _, r in pyc),
        }
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=sys.executable, help="a Python 3.13 interpreter")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    dirs = prepare(args.python)
    names = ["Baseline", "Floor", *sorted(_functions())]
    rows = measure(args.python, dirs, names, args.runs)
    base, floor = rows["Baseline"], rows["Floor"]
    print(
        f"cold init (import of the handler module), median of {args.runs} fresh processes, "
        f"Python {subprocess.run([args.python, '-V'], capture_output=True, text=True).stdout.strip()}"
    )
    print(
        f"{'function':<26}{'no .pyc ms':>11}{'.pyc ms':>9}{'+ setup':>9}{'pyc/no':>8}{'vs base(no)':>12}"
        f"{'vs base(.pyc)':>14}{'+setup vs base(.pyc)':>21}{'+setup vs floor':>16}{'RSS MB':>8}"
    )
    for name, row in rows.items():
        print(
            f"{name:<26}{row['no_pyc_ms']:>11.0f}{row['pyc_ms']:>9.0f}{row['pyc_setup_ms']:>9.0f}"
            f"{row['pyc_ms'] / row['no_pyc_ms']:>8.2f}{row['pyc_ms'] / base['no_pyc_ms']:>12.2f}"
            f"{row['pyc_ms'] / base['pyc_ms']:>14.2f}{row['pyc_setup_ms'] / base['pyc_ms']:>21.2f}"
            f"{row['pyc_setup_ms'] / floor['pyc_ms']:>16.2f}{row['peak_rss_mb']:>8}"
        )
    print(
        "target: .pyc ms <= 0.5 x the naive baseline as `sam build` ships it (vs base(no)); "
        "the other ratios compare with a baseline that also ships .pyc; the floor is the design's "
        "packages alone (no code of ours), so '+setup vs floor' is what our code adds"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
