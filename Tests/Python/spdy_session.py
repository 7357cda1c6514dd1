"""SPDY/3 as the Kubernetes API server speaks it for exec and attach (for the API STAND-IN, tests
only): after an HTTP upgrade to `SPDY/3.1` the client opens one stream per `streamtype`
(error, stdin, stdout, stderr, resize), the server answers each with SYN_REPLY, and each
stream's bytes travel in DATA frames, a FIN flag closing that direction. Header blocks are one
zlib stream per direction seeded with the SPDY/3 dictionary. As moby/spdystream (which the
API server and kubectl use) does: no flow control (WINDOW_UPDATE ignored), PINGs from the
peer echoed.

`SPDYServerSession` is fed the connection's bytes (it has the `feed_data`/`feed_eof` shape
aiohttp's protocol wants of a parser after an upgrade) and writes frames to the transport.
"""
import asyncio
import struct
import zlib

WORDS = [
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding", "accept-language",
    "accept-ranges", "age", "allow", "authorization", "cache-control", "connection", "content-base", "content-encoding",
    "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type", "date", "etag",
    "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
    "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
    "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive",
    "origin",
]
TAIL = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden"
        "404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,public"
        "privatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in WORDS) + TAIL.encode()
assert len(DICTIONARY) == 1423

SYN_STREAM, SYN_REPLY, RST_STREAM, PING, GOAWAY = 1, 2, 3, 6, 7
FIN = 0x01


class Stream:
    def __init__(self, stream_id, headers):
        self.id = stream_id
        self.headers = headers
        self.type = headers.get("streamtype", "")
        self.data = asyncio.Queue()  # bytes, then None at the peer's FIN
        self.closed = False  # our direction


class SPDYServerSession:
    def __init__(self, transport):
        self.transport = transport
        self.buffer = b""
        self.inflater = zlib.decompressobj(zdict=DICTIONARY)
        self.deflater = zlib.compressobj(zdict=DICTIONARY)
        self.streams = {}
        self.new_streams = asyncio.Queue()
        self.ended = asyncio.Event()
        self.last_stream = 0

    # -- the aiohttp parser shape --
    def feed_data(self, data):
        self.buffer += data
        while len(self.buffer) >= 8:
            first, second = struct.unpack(">II", self.buffer[:8])
            length = second & 0xFFFFFF
            if len(self.buffer) < 8 + length:
                break
            flags, body = second >> 24, self.buffer[8:8 + length]
            self.buffer = self.buffer[8 + length:]
            if first & 0x80000000:
                self.control(first & 0xFFFF, flags, body)
            else:
                stream = self.streams.get(first & 0x7FFFFFFF)
                if stream is not None:
                    if body:
                        stream.data.put_nowait(body)
                    if flags & FIN:
                        stream.data.put_nowait(None)
        return False, b""

    def feed_eof(self):
        for stream in self.streams.values():
            stream.data.put_nowait(None)
        self.ended.set()

    def control(self, kind, flags, body):
        if kind == SYN_STREAM:
            stream_id = struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF
            stream = Stream(stream_id, self.headers(body[10:]))
            self.streams[stream_id] = stream
            self.last_stream = stream_id
            self.frame(SYN_REPLY, 0, struct.pack(">I", stream_id) + self.block({}))
            if flags & FIN:
                stream.data.put_nowait(None)
            self.new_streams.put_nowait(stream)
        elif kind == PING:
            ping_id = struct.unpack(">I", body[:4])[0]
            if ping_id & 1:  # the client's (odd): echoed
                self.frame(PING, 0, body[:4])
        elif kind == RST_STREAM:
            stream = self.streams.get(struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF)
            if stream is not None:
                stream.data.put_nowait(None)
        elif kind == GOAWAY:
            self.feed_eof()

    def headers(self, block):
        plain = self.inflater.decompress(block)
        count, index, headers = struct.unpack(">I", plain[:4])[0], 4, {}
        for _ in range(count):
            size = struct.unpack(">I", plain[index:index + 4])[0]
            name = plain[index + 4:index + 4 + size].decode()
            index += 4 + size
            size = struct.unpack(">I", plain[index:index + 4])[0]
            headers[name.lower()] = plain[index + 4:index + 4 + size].decode()
            index += 4 + size
        return headers

    def block(self, headers):
        plain = struct.pack(">I", len(headers))
        for name, value in headers.items():
            plain += struct.pack(">I", len(name)) + name.lower().encode() + struct.pack(">I", len(value)) + value.encode()
        return self.deflater.compress(plain) + self.deflater.flush(zlib.Z_SYNC_FLUSH)

    def frame(self, kind, flags, body):
        if not self.transport.is_closing():
            self.transport.write(struct.pack(">II", 0x80030000 | kind, flags << 24 | len(body)) + body)

    # -- for the exec handler --
    def send(self, stream, data, fin=False):
        if stream is None or stream.closed or self.transport.is_closing() or (not data and not fin):
            return
        for start in range(0, max(len(data), 1), 32768):
            chunk = data[start:start + 32768]
            last = start + 32768 >= len(data)
            self.transport.write(struct.pack(">II", stream.id, (FIN if fin and last else 0) << 24 | len(chunk)) + chunk)
        stream.closed = fin

    def close(self):
        for stream in self.streams.values():
            if not stream.closed:
                self.send(stream, b"", fin=True)
        self.frame(GOAWAY, 0, struct.pack(">II", self.last_stream, 0))
        self.transport.close()
