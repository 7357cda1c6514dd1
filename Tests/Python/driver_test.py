"""psycopg 3 through postgres-gateway: prepared statements, pipelines with a refused
statement, COPY, transactions, server-side cursors, binary results and cancellation.
Run by the Swift test suite: driver_test.py CONNINFO ADMIN_URL DBA_TOKEN"""
import sys, threading, time
import psycopg

conninfo = sys.argv[1]
failures = []

def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what, flush=True)

def refused(exc):
    return isinstance(exc, psycopg.errors.InsufficientPrivilege) and "access gateway" in str(exc)

with psycopg.connect(conninfo, autocommit=True) as conn:
    # Prepared statements (extended protocol, server-side prepare after the first runs).
    for i in range(8):
        row = conn.execute("SELECT id, email, name FROM customers WHERE id = %s", (1,), prepare=True).fetchone()
    check(row == (1, "[EMAIL]", "[MASKED]"), f"prepared row masked: {row!r}")

    # A refused Parse answers with an error; the connection stays in step.
    try:
        conn.execute("DROP TABLE customers")
        check(False, "DROP through extended protocol was not refused")
    except Exception as exc:
        check(refused(exc), f"DROP refused with 42501: {exc!r}")
    check(conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2, "usable after refused Parse")

    # Pipeline: statements before and after a refused one.
    try:
        with conn.pipeline() as p:
            c1 = conn.execute("SELECT 1")
            c2 = conn.execute("DELETE FROM customers")
            c3 = conn.execute("SELECT 3")
            p.sync()
        check(False, "pipeline with DELETE without WHERE was not refused")
    except Exception as exc:
        check(refused(exc), f"pipeline refusal: {exc!r}")
    check(conn.execute("SELECT 4").fetchone()[0] == 4, "usable after refused pipeline")

    # Binary results: a masked column becomes NULL, text values are still scanned.
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT id, name, email, note FROM customers ORDER BY id")
        rows = cur.fetchall()
    check(rows[0][0] == 1 and rows[0][1] is None and rows[0][2] == "[EMAIL]", f"binary row: {rows[0]!r}")
    check("[CREDIT_CARD]" in (rows[0][3] or ""), f"binary text scanned: {rows[0]!r}")

    # COPY FROM STDIN works; COPY TO STDOUT is refused where columns are masked.
    conn.execute("CREATE TEMP TABLE t_copy (a int, b text)")
    with conn.cursor().copy("COPY t_copy FROM STDIN") as copy:
        for i in range(1000):
            copy.write_row((i, f"row {i}"))
    check(conn.execute("SELECT count(*) FROM t_copy").fetchone()[0] == 1000, "COPY FROM STDIN")
    try:
        with conn.cursor().copy("COPY customers TO STDOUT") as copy:
            for _ in copy:
                pass
        check(False, "COPY TO STDOUT not refused")
    except Exception as exc:
        check(refused(exc), f"COPY TO STDOUT refused: {exc!r}")

with psycopg.connect(conninfo) as conn:
    # A transaction survives a refused statement (the server never saw it).
    conn.execute("SELECT 1")
    try:
        conn.execute("DROP TABLE customers")
    except Exception as exc:
        check(refused(exc), f"refused in transaction: {exc!r}")
    check(conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS, f"still in transaction: {conn.info.transaction_status!r}")
    conn.commit()

    # Server-side cursor.
    with conn.cursor(name="big") as cur:
        cur.itersize = 100
        cur.execute("SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 500) g")
        rows = list(cur)
    check(len(rows) == 500 and rows[0][1] == "[EMAIL]", f"server-side cursor: {len(rows)} {rows[:1]!r}")
    conn.commit()

with psycopg.connect(conninfo, autocommit=True) as conn:
    # Cancellation from another thread.
    timer = threading.Timer(1.0, conn.cancel)
    timer.start()
    started = time.time()
    try:
        conn.execute("SELECT pg_sleep(30)")
        check(False, "pg_sleep was not cancelled")
    except psycopg.errors.QueryCanceled:
        pass
    check(time.time() - started < 20, "cancel took effect")
    check(conn.execute("SELECT 5").fetchone()[0] == 5, "usable after cancel")

with psycopg.connect(conninfo, autocommit=True) as conn:
    # Binary results carry text inside arrays, records, bytea and tsvector: scanned there
    # too (same length, so the binary layout stays valid), and a value computed from a
    # masked column is masked whole (NULL in binary).
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT ARRAY[email], convert_to(email, 'UTF8'), to_tsvector('simple', email)::text, upper(name), length(name) FROM customers WHERE id = 1")
        row = cur.fetchone()
        flat = repr(row)
        check("jane@example.com" not in flat and "JANE" not in flat, f"binary row masked: {flat}")
        check(row[3] is None and row[4] is None, f"computed from a masked column: {row[3]!r} {row[4]!r}")
        cur.execute("SELECT to_tsvector('simple', email), ARRAY[ROW(email)] FROM customers WHERE id = 1")
        check("jane@example.com" not in repr(cur.fetchone()), "binary tsvector and array of records masked")
        cur.execute("SELECT ROW(email, 1) FROM customers WHERE id = 1")
        check("jane@example.com" not in repr(cur.fetchone()), "binary record masked")
        cur.execute("SELECT id, email FROM customers WHERE id = 2")
        check(cur.fetchone()[0] == 2, "binary integers intact")

print("failures:", len(failures))
sys.exit(1 if failures else 0)
