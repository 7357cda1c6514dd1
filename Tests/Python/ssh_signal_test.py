"""Signals and exit signals through ssh-gateway, with asyncssh (OpenSSH's client sends no
signal requests). usage: ssh_signal_test.py PORT AGENT_TOKEN. Prints "failures: N"."""
import asyncio
import sys

import asyncssh

from cases import case, report

port, token = int(sys.argv[1]), sys.argv[2]


async def main():
    async with asyncssh.connect("127.0.0.1", port=port, username="web", password=token,
                                known_hosts=None, client_keys=None, agent_path=None) as connection:
        # A signal request is relayed to the target (the caller checks sshd's log: OpenSSH
        # refuses to signal sessions of root, which is who these tests log in as).
        process = await connection.create_process("echo ready; exec sleep 2")
        line = await asyncio.wait_for(process.stdout.readline(), 10)
        case("command started", line.strip() == "ready", line)
        process.send_signal("INT")
        await asyncio.wait_for(process.wait_closed(), 10)

        # An exit signal comes back as one.
        result = await connection.run("kill -TERM $$")
        case("exit signal relayed", result.exit_signal is not None and result.exit_signal[0] == "TERM",
             (result.exit_status, result.exit_signal))

        # An environment variable outside allow_env is refused; LANG is allowed.
        result = await connection.run("echo lang=$LANG other=$NOT_ALLOWED", env={"LANG": "C.UTF-8", "NOT_ALLOWED": "x"})
        case("env allow-list", "lang=C.UTF-8" in result.stdout and "other=x" not in result.stdout, result.stdout)


asyncio.run(main())
report()
