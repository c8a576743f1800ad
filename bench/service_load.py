"""The service under load: 32 clients at once on loopback, each sending cached requests to a
running `seglam serve`, as agents of a pipeline would. Writes bench/results/service.json and
service.md (`make bench-service`).

    python -m bench.service_load [--clients 32] [--requests-per-client 100]

The home holds the invoice workflow's three procedures written by hand (bench/hits.py); the
requests alternate the first step (extract.total over a generated invoice) and the third (a
conversion), with the invoices of workflows/data/generate_invoices.py. Each client is a thread
with its own HTTP connection; the latency of a request is measured at the client, from send
to answer, so it includes the clients' own share of this machine's two cores. Every answer is
checked against the invoice's expected figure (to the cent: the generator rounds half-cents
up, the procedure's round() to even).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from bench.hits import ROOT, _inputs, _percentile, documents, seed_cache, start_service

TASKS = {"total": "Extract the grand total amount from the invoice as a number",
         "total_eur": "Convert the amount into euros using the exchange rate, rounded to 2 decimals"}


def load(base: str, secret: str, clients: int, per_client: int) -> dict:
    invoices = documents(clients * per_client)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        mine, problems = [], []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=60) as http:
            start.wait()
            for index in range(per_client):
                document = invoices[number * per_client + index]
                step = "total" if index % 2 == 0 else "total_eur"
                body = {"task": TASKS[step], "inputs": _inputs(step, document), "namespace": "demo", "synthesize": False}
                sent = time.perf_counter()
                reply = http.post("/v1/run", json=body)
                mine.append(time.perf_counter() - sent)
                result = reply.json() if reply.status_code == 200 else {}
                expected, answer = document["expected"][step], result.get("answer")
                # The generator rounds half-cents up, round() to even: a cent apart is the same figure.
                if result.get("route") != "hit" or not isinstance(answer, (int, float)) or abs(answer - expected) > 0.0101:
                    problems.append(f"{reply.status_code} {result.get('route')} {answer!r} for {expected!r}")
        with lock:
            latencies.extend(mine)
            failures.extend(problems)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"clients": clients, "requests": len(latencies), "errors": len(failures), "first_errors": failures[:5],
            "requests_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(_percentile(latencies, 50) * 1000, 2), "p99_ms": round(_percentile(latencies, 99) * 1000, 2),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 2), "wall_s": round(elapsed, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests-per-client", type=int, default=100)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="seglam-service-load-") as folder:
        home = Path(folder)
        seed_cache(home)
        service, base, secret = start_service(home)
        try:
            load(base, secret, 4, 10)  # warm: workers started, embeddings of both task texts cached
            figures = load(base, secret, args.clients, args.requests_per_client)
        finally:
            service.terminate()
            service.wait(30)
    write_results(figures, args.out_dir, args)


def write_results(figures: dict, out_dir: Path, args) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "command": f"python -m bench.service_load --clients {args.clients} "
                       f"--requests-per-client {args.requests_per_client}"}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "service.json").write_text(json.dumps({**meta, "figures": figures}, indent=2) + "\n")
    lines = [f"# The service under load ({meta['date']}, commit {commit})", "",
             f"`{meta['command']}` (make bench-service) on {meta['machine']}: `seglam serve` on loopback, "
             f"{figures['clients']} client threads in one process on the same machine, cached requests "
             "(extract.total over an invoice and a conversion, alternating), every answer checked.", "",
             "| requests | errors | requests/s | p50 ms | p99 ms | mean ms |", "| ---: | ---: | ---: | ---: | ---: | ---: |",
             f"| {figures['requests']} | {figures['errors']} | {figures['requests_per_s']} | {figures['p50_ms']} | "
             f"{figures['p99_ms']} | {figures['mean_ms']} |", "",
             "A request's latency is measured at its client and includes waiting for the server's turn: "
             f"{figures['clients']} clients share two cores with the server."]
    (out_dir / "service.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
