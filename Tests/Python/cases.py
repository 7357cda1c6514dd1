"""What the Python peer tests share: one line per case ("ok   name" or "FAIL name: detail"),
and "failures: N" at the end, which the Swift tests look for."""
failures = 0


def case(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail!r}"))
    if not ok:
        failures += 1


def report():
    print(f"failures: {failures}")
