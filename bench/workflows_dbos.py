"""The three-step durable workflow of bench/workflows.sh, written for DBOS (dbos from PyPI).

    python bench/workflows_dbos.py --url sqlite:///PATH | postgresql://… [--workflows N] [--concurrency 32]

Each workflow runs three steps, each checkpointed in DBOS's system database before the next starts; the
workflows run `concurrency` at a time from a thread pool. Prints one line:
`dbos <engine> workflows=<n> seconds=<s> rate=<n/s>`.
"""
import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from dbos import DBOS, DBOSConfig


@DBOS.step()
def step(number: int, value: int) -> int:
    return value + number


@DBOS.workflow()
def three_steps(value: int) -> int:
    value = step(1, value)
    value = step(2, value)
    return step(3, value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--workflows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    config: DBOSConfig = {"name": "plaza-bench", "system_database_url": args.url, "sys_db_pool_size": args.concurrency + 8}
    DBOS(config=config)
    DBOS.launch()
    for value in range(50):  # warm-up: connections, prepared paths
        three_steps(value)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        results = list(pool.map(three_steps, range(args.workflows)))
    seconds = time.monotonic() - start
    assert results == [value + 6 for value in range(args.workflows)], "a workflow returned the wrong value"
    engine = "sqlite" if args.url.startswith("sqlite") else "postgres"
    print(f"dbos {engine} workflows={args.workflows} seconds={seconds:.2f} rate={args.workflows / seconds:.0f}")
    DBOS.destroy()


if __name__ == "__main__":
    main()
