#!/usr/bin/env python3
"""A SIP-over-TLS OPTIONS responder for the integration tests (Python's ssl module, OpenSSL).

Listens on 127.0.0.1 (a free port; written to --port-file once listening), completes the TLS
handshake with --cert/--key, and answers every OPTIONS request with "--code --reason", copying
Via, From, To, Call-ID and CSeq as RFC 3261 section 8.2.6 asks. Other methods get 405. Each
connection is served on its own thread and reads at most 64 KiB per message.
"""

import argparse
import os
import socket
import ssl
import threading

MAX_MESSAGE = 65536
COPIED = ("via", "from", "to", "call-id", "cseq")


def answer(request: bytes, code: int, reason: str) -> bytes:
    head = request.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = head.split("\r\n")
    method = lines[0].split(" ", 1)[0]
    if method != "OPTIONS":
        code, reason = 405, "Method Not Allowed"
    out = [f"SIP/2.0 {code} {reason}"]
    for line in lines[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in COPIED:
            if name == "to" and ";tag=" not in line:
                line += ";tag=tlsresponder"
            out.append(line)
    out.append("Server: mediapath-test-tls-responder")
    out.append("Content-Length: 0")
    return ("\r\n".join(out) + "\r\n\r\n").encode()


def serve(conn: ssl.SSLSocket, code: int, reason: str) -> None:
    buffer = b""
    try:
        while True:
            data = conn.recv(16384)
            if not data:
                return
            buffer += data
            if len(buffer) > MAX_MESSAGE:
                return
            while b"\r\n\r\n" in buffer:
                head, rest = buffer.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() in (b"content-length", b"l"):
                        length = int(value.strip() or b"0")
                if len(rest) < length:
                    break
                # The request line and top Via, for the test's log: what the client sent.
                lines = head.split(b"\r\n")
                via = [line for line in lines if line.lower().startswith(b"via:")][:1]
                print(b" | ".join(lines[:1] + via).decode("utf-8", "replace"), flush=True)
                conn.sendall(answer(head + b"\r\n\r\n", code, reason))
                buffer = rest[length:]
    except (OSError, ValueError):
        return
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--code", type=int, default=200)
    parser.add_argument("--reason", default="OK")
    parser.add_argument("--max-version", choices=("1.2", "1.3"), default="1.3")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = (
        ssl.TLSVersion.TLSv1_2 if args.max_version == "1.2" else ssl.TLSVersion.TLSv1_3
    )

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(args.port_file + ".tmp", "w", encoding="ascii") as f:
        f.write(f"{listener.getsockname()[1]}\n")
    # Renamed into place: a reader never sees half a port number.
    os.rename(args.port_file + ".tmp", args.port_file)

    while True:
        raw, _ = listener.accept()
        raw.settimeout(10)
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            # A client that refused our certificate: the test is about that client.
            raw.close()
            continue
        threading.Thread(target=serve, args=(conn, args.code, args.reason), daemon=True).start()


if __name__ == "__main__":
    main()
