"""Holds N sessions waiting for approval at once through postgres-gateway, then approves them.
Reports the gateway's memory per held session and the time from approval to the client's
first result byte (median, p99). Run by bench/held-sessions.sh."""
import asyncio, json, statistics, sys, time, urllib.request
import psycopg

conninfo, admin, dba_token, gateway_pid, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def api(method, path):
    req = urllib.request.Request(admin + path, method=method, headers={"Authorization": "Bearer " + dba_token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")

done_at = {}

async def client(i, ready):
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    ready.release()
    cur = await conn.execute(f"/* reason: bench {i} */ UPDATE accounts SET balance = balance + 1 WHERE id = {i}")
    done_at[i] = time.perf_counter()
    await conn.close()

async def main():
    ready = asyncio.Semaphore(0)
    idle = rss_kib(gateway_pid)
    tasks = []
    for i in range(1, count + 1):
        tasks.append(asyncio.create_task(client(i, ready)))
        if i % 50 == 0:
            await asyncio.sleep(0.05)
    for _ in range(count):
        await ready.acquire()
    # Wait until every statement is held.
    while True:
        pending = api("GET", "/api/reviews?status=pending")
        if len(pending) >= count:
            break
        await asyncio.sleep(0.2)
    held = rss_kib(gateway_pid)
    ids = {int(r["justification"].split()[-1]): r["id"] for r in pending}
    approved_at = {}
    loop = asyncio.get_running_loop()
    for i in range(1, count + 1):
        approved_at[i] = time.perf_counter()
        await loop.run_in_executor(None, api, "POST", f"/api/reviews/{ids[i]}/approve")
    await asyncio.gather(*tasks)
    latencies = sorted((done_at[i] - approved_at[i]) * 1000 for i in range(1, count + 1))
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{count} sessions held for approval at once")
    print(f"gateway RSS idle {idle} KiB, with {count} held {held} KiB: {(held - idle) / count:.1f} KiB per held session")
    print(f"approval to first result: median {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms")

asyncio.run(main())
