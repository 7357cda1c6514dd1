"""A Kubernetes exec client over WebSocket (v5.channel.k8s.io) written out with aiohttp, for
tests where kubectl cannot be the client.

usage: kube_exec_client.py print URL TOKEN CA_FILE
         prints "channel N TEXT" for each stdout/stderr frame, then "closed": the stream
         request itself reaches the gateway (kubectl's discovery requests would fail first
         against a connection whose API server never answers).
       kube_exec_client.py stall URL TOKEN CA_FILE
         reads the first frame ("opened N"), stops reading for 6 s ("slept"), then reads
         4 MiB ("received N"): a client that stops reading, so what the command writes has
         to wait somewhere (aiohttp stops reading the socket past its queue's limit)."""
import asyncio
import ssl
import sys

import aiohttp


async def main():
    mode, url, token, ca = sys.argv[1:5]
    context = ssl.create_default_context(cafile=ca)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, protocols=["v5.channel.k8s.io"], ssl=context,
                                      headers={"Authorization": "Bearer " + token}, max_msg_size=0) as ws:
            if mode == "print":
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY and message.data[:1] in (b"\x02", b"\x03"):
                        print("channel", message.data[0], message.data[1:].decode(errors="replace"), flush=True)
            elif mode == "stall":
                first = await ws.receive()
                print("opened", len(first.data), flush=True)
                await asyncio.sleep(6)
                print("slept", flush=True)
                received = 0
                while received < 4 << 20:
                    message = await ws.receive()
                    if message.type != aiohttp.WSMsgType.BINARY:
                        break
                    received += len(message.data)
                print("received", received, flush=True)
            else:
                sys.exit("unknown mode " + mode)
    if mode == "print":
        print("closed", flush=True)


asyncio.run(main())
