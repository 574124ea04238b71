#!/usr/bin/env python3
"""A loopback TLS terminator, for tests of pipelined's own TLS client.

    tls_proxy.py --listen 127.0.0.1:0 --target 127.0.0.1:PORT --cert C --key K
                 [--port-file FILE]

It listens on the --listen address (port 0: an ephemeral one) and prints
the port it listens on as one line on stdout (and writes it to --port-file
when given) once it listens. Each connection it accepts is a TLS server
session with the certificate C and its key K (PEM, the test ones of
tests/data/tls), and gets its own plain TCP connection to --target: the
bytes go both ways unchanged, for as long as both sides keep the
connection open (keep-alive connections carry any number of requests);
when either side closes, both connections are closed. So
pipelined can speak https://127.0.0.1:P to fake_aws or an emulator that
speaks only HTTP, with the test CA as its trust.

Nothing but loopback: --listen and --target must be loopback addresses.
SIGTERM or SIGINT ends it (exit 0). stderr gets one line per connection
that failed its handshake (an untrusted client is not an error of the
proxy). Python's ssl and asyncio only; no third-party module.
"""
import argparse
import asyncio
import ipaddress
import os
import signal
import ssl
import sys


def address(text):
    host, sep, port = text.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text}: expected HOST:PORT")
    host = host.strip("[]")
    if not ipaddress.ip_address(host).is_loopback:
        raise argparse.ArgumentTypeError(f"{text}: not a loopback address")
    return host, int(port)


async def pipe(reader, writer):
    """Copies reader to writer until EOF or an error, then closes writer."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        try:
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError, OSError):
            pass


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=address, default=("127.0.0.1", 0))
    p.add_argument("--target", type=address, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file")
    args = p.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)

    async def client(c_reader, c_writer):
        try:
            t_reader, t_writer = await asyncio.open_connection(*args.target)
        except OSError as e:
            print(f"tls_proxy: cannot reach {args.target}: {e}", file=sys.stderr)
            c_writer.close()
            return
        await asyncio.gather(pipe(c_reader, t_writer), pipe(t_reader, c_writer))

    loop = asyncio.get_running_loop()
    # A failed handshake (an untrusted client, garbage): one line, go on.
    loop.set_exception_handler(
        lambda _loop, context: print(
            f"tls_proxy: {context.get('exception') or context['message']}",
            file=sys.stderr))
    server = await asyncio.start_server(client, *args.listen, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        # Renamed into place: a reader never sees half a line.
        os.replace(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # Not wait_closed(): it would wait for the open connections too.
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
