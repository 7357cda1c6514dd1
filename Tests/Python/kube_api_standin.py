"""A STAND-IN for a Kubernetes API server, for tests only (no real API server can run on
this machine). It speaks the real wire protocols the gateway relays:

- HTTPS with its own certificate, bearer-token check (401 `Status` otherwise);
- discovery: /version, /api, /apis, /api/v1, /apis/apps/v1 (legacy discovery documents);
- pods: list (and watch=true as a stream of watch events), get, delete; pods/log (follow);
  secrets: get, list; namespaces: list; deployments/scale: get, patch;
- exec and attach over WebSocket with the subprotocols v5.channel.k8s.io, v4.channel.k8s.io,
  v4.base64.channel.k8s.io and base64.channel.k8s.io (the framing of
  k8s.io/apimachinery/pkg/util/remotecommand: a channel byte per message; v4+ report the exit
  on channel 3 as a Status with NonZeroExitCode and an ExitCode cause; v5 closes a channel
  with 255 + channel), and over SPDY/3.1 (`X-Stream-Protocol-Version` v5/v4, one SPDY stream
  per streamtype: spdy_session.py), running the requested command as a local process (with a
  pty for tty=true, resized by channel 4 / the resize stream). `--spdy-only` refuses the
  WebSocket upgrade, as an API server before 1.30 behind a proxy does;
- port forwarding (portforward.k8s.io over SPDY, or tunnelled in WebSocket as
  SPDY/3.1+portforward.k8s.io) to ports on 127.0.0.1.

Every request is appended to the log file as one JSON line (method, path, query and the
headers), so tests can check what reached the "cluster" (Authorization, Impersonate-*).

    python kube_api_standin.py --port P --cert C --key K --token T --log L
"""
import argparse
import asyncio
import base64
import json
import os
import pty
import signal
import ssl
import struct
import fcntl
import termios

from aiohttp import web, WSMsgType

from spdy_session import SPDYServerSession

PODS = {
    "default": ["web-1", "web-2"],
    "prod": ["api-1"],
}
SECRETS = {
    ("default", "db"): {"password": "hunter2-very-secret", "url": "postgres://app:hunter2@db/app"},
}
SCALES = {("prod", "api"): 3}


def status(code, reason, message):
    return web.json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code},
        status=code,
    )


def pod(namespace, name):
    return {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}", "resourceVersion": "1",
                     "creationTimestamp": "2026-12-01T00:00:00Z", "labels": {"app": name.rsplit("-", 1)[0]}},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.7"},
    }


def resource_list(group_version, resources):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def res(name, kind, namespaced, verbs):
    return {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs}


READ = ["get", "list", "watch"]
ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class StandIn:
    def __init__(self, token, log, websocket_exec=True):
        self.token = token
        self.websocket_exec = websocket_exec
        self.log_file = open(log, "a", buffering=1)

    @web.middleware
    async def middleware(self, request, handler):
        self.log_file.write(json.dumps({
            "method": request.method, "path": request.path, "query": request.query_string,
            "headers": {k: ", ".join(request.headers.getall(k)) for k in dict.fromkeys(request.headers.keys())},
        }) + "\n")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return status(401, "Unauthorized", "Unauthorized")
        return await handler(request)

    async def version(self, request):
        return web.json_response({"major": "1", "minor": "30", "gitVersion": "v1.30.0-standin", "platform": "linux/amd64"})

    async def api(self, request):
        return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})

    async def apis(self, request):
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}], "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]})

    async def core_v1(self, request):
        return web.json_response(resource_list("v1", [
            res("pods", "Pod", True, ALL), res("pods/exec", "PodExecOptions", True, ["create", "get"]),
            res("pods/attach", "PodAttachOptions", True, ["create", "get"]), res("pods/log", "Pod", True, ["get"]),
            res("pods/portforward", "PodPortForwardOptions", True, ["create", "get"]),
            res("secrets", "Secret", True, ALL), res("namespaces", "Namespace", False, ALL), res("configmaps", "ConfigMap", True, ALL),
        ]))

    async def apps_v1(self, request):
        return web.json_response(resource_list("apps/v1", [
            res("deployments", "Deployment", True, ALL), res("deployments/scale", "Scale", True, ["get", "patch", "update"]),
        ]))

    async def pods(self, request):
        namespace = request.match_info["namespace"]
        if request.query.get("watch") in ("true", "1"):
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            for name in PODS.get(namespace, []):
                await response.write((json.dumps({"type": "ADDED", "object": pod(namespace, name)}) + "\n").encode())
            # A watch stays open until the client leaves (or the timeout it asked for).
            await asyncio.sleep(float(request.query.get("timeoutSeconds", "30")))
            return response
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                                  "items": [pod(namespace, name) for name in PODS.get(namespace, [])]})

    async def get_pod(self, request):
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        if name not in PODS.get(namespace, []):
            return status(404, "NotFound", f'pods "{name}" not found')
        if request.method == "DELETE":
            PODS[namespace].remove(name)
        return web.json_response(pod(namespace, name))

    async def pod_log(self, request):
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for index in range(3):
            await response.write(f"line {index} user=jane.doe@example.com\n".encode())
            if request.query.get("follow") == "true":
                await asyncio.sleep(0.2)
        return response

    async def secret(self, request):
        key = (request.match_info["namespace"], request.match_info["name"])
        if key not in SECRETS:
            return status(404, "NotFound", f'secrets "{key[1]}" not found')
        data = {k: base64.b64encode(v.encode()).decode() for k, v in SECRETS[key].items()}
        return web.json_response({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": key[1], "namespace": key[0]}, "type": "Opaque", "data": data})

    async def secrets(self, request):
        namespace = request.match_info["namespace"]
        items = [{"kind": "Secret", "apiVersion": "v1", "metadata": {"name": name, "namespace": ns}, "type": "Opaque",
                  "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}
                 for (ns, name), values in SECRETS.items() if ns == namespace]
        return web.json_response({"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": items})

    async def namespaces(self, request):
        return web.json_response({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {},
                                  "items": [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": n}} for n in PODS]})

    async def scale(self, request):
        key = (request.match_info["namespace"], request.match_info["name"])
        if request.method in ("PATCH", "PUT"):
            body = await request.json()
            SCALES[key] = body.get("spec", {}).get("replicas", SCALES.get(key, 1))
        return web.json_response({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": key[1], "namespace": key[0]},
                                  "spec": {"replicas": SCALES.get(key, 1)}, "status": {"replicas": SCALES.get(key, 1)}})

    async def exec(self, request):
        query = request.query
        tty = query.get("tty") == "true"
        if request.headers.get("Upgrade", "").lower() == "spdy/3.1":
            stream = await SPDYExecStream.accept(request, query, tty)
        elif self.websocket_exec:
            stream = await WebSocketExecStream.accept(request)
        else:
            return status(400, "BadRequest", "Upgrade request required (this stand-in plays an API server that speaks SPDY only)")
        if isinstance(stream, web.StreamResponse):
            return stream
        command = query.getall("command", [])
        if request.match_info["sub"] == "attach":
            command = ["sh"]
        sent = await run_exec(stream, command, tty)
        # What the "cluster" sent, for tests that check nothing was lost on the way.
        self.log_file.write(json.dumps({"exec": request.path, "protocol": stream.protocol, "sent": sent}) + "\n")
        return stream.response


    async def portforward(self, request):
        """Port forwarding as the kubelet serves it (portforward.k8s.io): per forwarded
        connection the client opens an error and a data stream naming the port and a
        requestID; the stand-in connects to that port on 127.0.0.1 and pipes the data stream
        through it. Over SPDY/3.1 directly (kubectl before 1.31), or tunnelled in WebSocket
        binary messages (subprotocol SPDY/3.1+portforward.k8s.io, kubectl 1.31 and later)."""
        if request.headers.get("Upgrade", "").lower() == "spdy/3.1":
            offered = [v.strip() for value in request.headers.getall("X-Stream-Protocol-Version", []) for v in value.split(",")]
            if "portforward.k8s.io" not in offered:
                return status(403, "Forbidden", f"unable to upgrade: no common stream protocol in {offered}")
            response = web.StreamResponse(status=101, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "portforward.k8s.io"})
            await response.prepare(request)
            session = SPDYServerSession(request.transport)
            request.protocol.set_parser(session)
            await serve_port_forward(session)
            return response
        if not self.websocket_exec:
            return status(400, "BadRequest", "Upgrade request required (this stand-in plays an API server that speaks SPDY only)")
        ws = web.WebSocketResponse(protocols=["SPDY/3.1+portforward.k8s.io"])
        if not ws.can_prepare(request).ok:
            return status(400, "BadRequest", "Upgrade request required")
        await ws.prepare(request)
        tunnel = WebSocketTunnel(ws)
        session = SPDYServerSession(tunnel)
        tunnel.start()

        async def read():
            async for message in ws:
                if message.type == WSMsgType.BINARY:
                    session.feed_data(message.data)
                else:
                    break
            session.feed_eof()

        reader = asyncio.ensure_future(read())
        await serve_port_forward(session)
        reader.cancel()
        await tunnel.stop()
        return ws


class WebSocketTunnel:
    """A transport for SPDYServerSession whose bytes travel as WebSocket binary messages, in order."""

    def __init__(self, ws):
        self.ws = ws
        self.queue = asyncio.Queue()
        self.closing = False

    def start(self):
        async def write():
            while (data := await self.queue.get()) is not None:
                await self.ws.send_bytes(data)
            await self.ws.close()
        self.writer = asyncio.ensure_future(write())

    def write(self, data):
        self.queue.put_nowait(data)

    def is_closing(self):
        return self.closing or self.ws.closed

    def close(self):
        if not self.closing:
            self.closing = True
            self.queue.put_nowait(None)

    async def stop(self):
        self.close()
        await self.writer


async def serve_port_forward(session):
    pairs, tasks = {}, []
    while True:
        getter = asyncio.ensure_future(session.new_streams.get())
        ended = asyncio.ensure_future(session.ended.wait())
        done, _ = await asyncio.wait([getter, ended], return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            break
        ended.cancel()
        stream = getter.result()
        key = stream.headers.get("requestid", "")
        pair = pairs.setdefault(key, {})
        pair[stream.type] = stream
        if "data" in pair and "error" in pair:
            tasks.append(asyncio.ensure_future(forward_port(session, pair["data"], pair["error"], stream.headers.get("port", "0"))))
    for task in tasks:
        task.cancel()


async def forward_port(session, data, error, port):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    except (OSError, ValueError) as failure:
        session.send(error, f"error forwarding port {port} to pod: {failure}".encode(), fin=True)
        session.send(data, b"", fin=True)
        return

    async def up():
        while (chunk := await data.data.get()) is not None:
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    async def down():
        while chunk := await reader.read(32768):
            session.send(data, chunk)
        session.send(data, b"", fin=True)

    try:
        await asyncio.gather(up(), down())
    finally:
        writer.close()
        session.send(error, b"", fin=True)


class WebSocketExecStream:
    """An exec stream over WebSocket (v5/v4/v4.base64/base64.channel.k8s.io)."""

    @staticmethod
    async def accept(request):
        protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "base64.channel.k8s.io"]
        ws = web.WebSocketResponse(protocols=protocols)
        if not ws.can_prepare(request).ok:
            return status(400, "BadRequest", "Upgrade request required")
        await ws.prepare(request)
        return WebSocketExecStream(ws)

    def __init__(self, ws):
        self.ws = ws
        self.response = ws
        self.protocol = ws.ws_protocol or ""
        self.b64 = "base64" in self.protocol

    async def send(self, channel, data):
        if self.b64:
            await self.ws.send_str(str(channel) + base64.b64encode(data).decode())
        else:
            await self.ws.send_bytes(bytes([channel]) + data)

    async def incoming(self):
        """(channel, data) as they come; (0, None) when stdin is closed (v5)."""
        async for message in self.ws:
            if message.type == WSMsgType.BINARY:
                channel, data = message.data[0], message.data[1:]
            elif message.type == WSMsgType.TEXT:
                channel, data = int(message.data[0]), base64.b64decode(message.data[1:])
            else:
                return
            if channel == 255:
                yield data[0], None
            else:
                yield channel, data

    async def finish(self):
        await self.ws.close()


class SPDYExecStream:
    """An exec stream over SPDY/3.1: one SPDY stream per streamtype, as remotecommand's v4."""

    PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    CHANNELS = {"stdin": 0, "stdout": 1, "stderr": 2, "error": 3, "resize": 4}

    @staticmethod
    async def accept(request, query, tty):
        offered = [v.strip() for value in request.headers.getall("X-Stream-Protocol-Version", []) for v in value.split(",")]
        chosen = next((p for p in SPDYExecStream.PROTOCOLS if p in offered), None)
        if chosen is None:
            return status(403, "Forbidden", f"unable to upgrade: no common stream protocol in {offered}")
        response = web.StreamResponse(status=101, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": chosen})
        await response.prepare(request)
        session = SPDYServerSession(request.transport)
        request.protocol.set_parser(session)
        expected = {"error"} | {name for name in ("stdin", "stdout", "stderr") if query.get(name) in ("true", "1")}
        if tty:
            expected.add("resize")
        streams = {}
        try:
            while not expected.issubset(streams):
                stream = await asyncio.wait_for(session.new_streams.get(), 30)
                streams[stream.type] = stream
        except asyncio.TimeoutError:
            session.close()
            return response
        return SPDYExecStream(response, session, streams, chosen)

    def __init__(self, response, session, streams, protocol):
        self.response = response
        self.session = session
        self.streams = streams
        self.protocol = protocol

    async def send(self, channel, data):
        name = next(n for n, c in self.CHANNELS.items() if c == channel)
        if channel == 3:
            self.session.send(self.streams.get("error"), data, fin=True)
        else:
            self.session.send(self.streams.get(name), data)

    async def incoming(self):
        queue = asyncio.Queue()

        async def read(name):
            stream, pending = self.streams[name], b""
            while (data := await stream.data.get()) is not None:
                if name == "resize":
                    pending += data
                    while b"\n" in pending:
                        line, pending = pending.split(b"\n", 1)
                        await queue.put((4, line))
                else:
                    await queue.put((0, data))
            await queue.put((self.CHANNELS[name], None))

        readers = [asyncio.ensure_future(read(n)) for n in ("stdin", "resize") if n in self.streams]
        waiting = len(readers)
        try:
            while waiting:
                channel, data = await queue.get()
                if data is None and channel == 4:
                    waiting -= 1
                    continue
                if data is None:
                    waiting -= 1
                yield channel, data
            await self.session.ended.wait()
        finally:
            for reader in readers:
                reader.cancel()

    async def finish(self):
        self.session.close()


async def run_exec(stream, command, tty):
    """Runs `command` (with a pty for tty) and relays it over `stream`; the exit status goes
    on channel 3 (v4+: a Status; earlier: text, only for a failure). Returns the bytes sent
    on each output channel."""
    sent = {1: 0, 2: 0}
    try:
        if tty:
            master, slave = pty.openpty()
            process = await asyncio.create_subprocess_exec(*command, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
            os.close(slave)
        else:
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as error:
        await stream.send(3, json.dumps({"metadata": {}, "status": "Failure", "message": str(error), "reason": "InternalError"}).encode())
        await stream.finish()
        return sent

    loop = asyncio.get_running_loop()

    async def pump(reader, channel):
        while True:
            data = await reader.read(32768)
            if not data:
                return
            sent[channel] += len(data)
            await stream.send(channel, data)

    async def pump_pty():
        while True:
            try:
                data = await loop.run_in_executor(None, os.read, master, 32768)
            except OSError:
                return
            if not data:
                return
            sent[1] += len(data)
            await stream.send(1, data)

    pumps = [asyncio.ensure_future(pump_pty())] if tty else [
        asyncio.ensure_future(pump(process.stdout, 1)), asyncio.ensure_future(pump(process.stderr, 2))]

    async def read_client():
        async for channel, data in stream.incoming():
            if channel == 0 and data is None:
                if not tty and process.stdin:
                    process.stdin.close()
            elif channel == 0:
                if tty:
                    os.write(master, data)
                elif process.stdin:
                    process.stdin.write(data)
                    await process.stdin.drain()
            elif channel == 4 and tty:
                size = json.loads(data)
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", size["Height"], size["Width"], 0, 0))
        if process.returncode is None:
            process.send_signal(signal.SIGHUP)

    reader = asyncio.ensure_future(read_client())
    await asyncio.gather(*pumps)
    code = await process.wait()
    if "v4" in stream.protocol or "v5" in stream.protocol:
        if code == 0:
            payload = {"metadata": {}, "status": "Success"}
        else:
            payload = {"metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: exit status {code}",
                       "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        await stream.send(3, json.dumps(payload).encode())
    elif code != 0:
        await stream.send(3, f"command terminated with non-zero exit code: exit status {code}".encode())
    reader.cancel()
    await stream.finish()
    return sent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--spdy-only", action="store_true", help="refuse exec over WebSocket, as an API server before 1.30 behind a proxy")
    args = parser.parse_args()
    standin = StandIn(args.token, args.log, websocket_exec=not args.spdy_only)
    app = web.Application(middlewares=[standin.middleware])
    ns = "/api/v1/namespaces/{namespace}"
    app.add_routes([
        web.get("/version", standin.version), web.get("/api", standin.api), web.get("/apis", standin.apis),
        web.get("/api/v1", standin.core_v1), web.get("/apis/apps/v1", standin.apps_v1),
        web.get("/api/v1/namespaces", standin.namespaces),
        web.get(ns + "/pods", standin.pods), web.get(ns + "/pods/{name}", standin.get_pod), web.delete(ns + "/pods/{name}", standin.get_pod),
        web.get(ns + "/pods/{name}/log", standin.pod_log),
        web.get(ns + "/pods/{name}/{sub:exec|attach}", standin.exec), web.post(ns + "/pods/{name}/{sub:exec|attach}", standin.exec),
        web.get(ns + "/pods/{name}/portforward", standin.portforward), web.post(ns + "/pods/{name}/portforward", standin.portforward),
        web.get(ns + "/secrets", standin.secrets), web.get(ns + "/secrets/{name}", standin.secret),
        web.get("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", standin.scale),
        web.patch("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", standin.scale),
    ])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    web.run_app(app, host="127.0.0.1", port=args.port, ssl_context=context, print=lambda *_: print("ready", flush=True))


if __name__ == "__main__":
    main()
