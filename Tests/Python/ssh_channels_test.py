"""Channel-level cases for ssh-gateway with paramiko (a second, independent SSH client).

usage: ssh_channels_test.py PORT AGENT_TOKEN ADMIN_URL DBA_TOKEN
Prints one line per case and "failures: N" at the end.
"""
import json
import re
import sys
import threading
import time
import urllib.request

import paramiko

from cases import case, report

port, agent, admin, dba = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]


def connect():
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=int(port), username="web", password=agent,
                   look_for_keys=False, allow_agent=False, timeout=10)
    return client


def run(transport, command):
    channel = transport.open_session()
    channel.exec_command(command)
    out = b""
    while True:
        data = channel.recv(65536)
        if not data:
            break
        out += data
    return channel.recv_exit_status(), out.decode(errors="replace")


def read_until(channel, pattern, timeout=10):
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        if channel.recv_ready():
            text += channel.recv(65536).decode(errors="replace")
            if re.search(pattern, text):
                return text
        else:
            time.sleep(0.05)
    return text


client = connect()
transport = client.get_transport()

# Several channels at once on one connection, each with its own output and exit status.
results = {}
def worker(name, command):
    results[name] = run(transport, command)
threads = [threading.Thread(target=worker, args=(f"c{i}", f"echo start-{i}; sleep 0.3; echo end-{i}; exit {i}")) for i in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
case("four exec channels in one connection",
     all(results[f"c{i}"] == (i, f"start-{i}\nend-{i}\n") for i in range(4)), results)

# A match split across two packets is still masked.
status, out = run(transport, "printf 'mail jane@exa'; sleep 0.3; printf 'mple.com now\\n'")
case("masking across packets", out == "mail [EMAIL] now\n", out)

# A blocked exec: stderr and 126; the connection stays usable.
channel = transport.open_session()
channel.exec_command("rm -rf /tmp/never")
err = channel.makefile_stderr().read().decode()
case("blocked exec answers 126 with the reason on stderr", channel.recv_exit_status() == 126 and "no-rm-rf" in err, err)
case("connection usable after a block", run(transport, "echo after")[1] == "after\n")

# A pty shell: window-change reaches the target, lines are checked, a held line waits for review.
shell = transport.open_session()
shell.get_pty(term="xterm", width=80, height=24)
shell.invoke_shell()
read_until(shell, r"[#$] $")
shell.resize_pty(width=132, height=43)
time.sleep(0.2)
shell.send("stty size\n")
text = read_until(shell, r"43 132")
case("window-change reaches the target", "43 132" in text, text[-200:])

shell.send("rm -rf /tmp/never\n")
text = read_until(shell, r"not run")
case("blocked line in a pty shell", "recursive force delete is blocked" in text, text[-300:])

shell.send("systemctl restart demo 2>/dev/null || echo restart-attempted\n")
text = read_until(shell, r"review (r-[0-9a-f]+) is pending")
match = re.search(r"review (r-[0-9a-f]+) is pending", text)
case("held line announces its review", match is not None, text[-300:])
if match:
    request = urllib.request.Request(f"{admin}/api/reviews/{match.group(1)}/approve", data=b"{}", method="POST",
                                     headers={"Authorization": f"Bearer {dba}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        case("approval accepted", response.status == 200, response.status)
    text = read_until(shell, r"restart-attempted")
    case("approved line runs", "restart-attempted" in text, text[-300:])
shell.send("exit 7\n")
case("shell exit status", shell.recv_exit_status() == 7)

# sftp is not masked: a file with an e-mail address comes back byte for byte.
sftp = client.open_sftp()
with sftp.open("/tmp/gateway-paramiko-sftp.txt", "w") as handle:
    handle.write("contact jane@example.com\n")
with sftp.open("/tmp/gateway-paramiko-sftp.txt", "r") as handle:
    content = handle.read().decode()
sftp.remove("/tmp/gateway-paramiko-sftp.txt")
case("sftp round trip is not altered", content == "contact jane@example.com\n", content)

# Port forwarding is refused on this connection.
try:
    transport.open_channel("direct-tcpip", ("127.0.0.1", 22), ("127.0.0.1", 5555))
    case("direct-tcpip refused", False, "opened")
except paramiko.ChannelException:
    case("direct-tcpip refused", True)

client.close()

# A wrong token is an authentication failure.
try:
    bad = paramiko.SSHClient()
    bad.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    bad.connect("127.0.0.1", port=int(port), username="web", password="not-a-token", look_for_keys=False, allow_agent=False, timeout=10)
    case("bad token refused", False, "authenticated")
except paramiko.AuthenticationException:
    case("bad token refused", True)

report()
